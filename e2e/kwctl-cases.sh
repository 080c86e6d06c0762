#!/usr/bin/env bash
# Runs every case of e2e/cases.yaml through kwctl, to prove the request files
# mean to kwctl what they mean to this project's runner. Skips, with the
# reason, where kwctl is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v kwctl >/dev/null 2>&1; then
  echo "e2e-kwctl: skipped: kwctl is not installed (https://github.com/kubewarden/kwctl/releases)"
  exit 0
fi

module=annotated-policy.wasm
[ -f "$module" ] || { echo "e2e-kwctl: $module is missing; run 'make annotated-policy.wasm'" >&2; exit 2; }

# kwctl prints an AdmissionResponse: a mutation shows as a base64 `patch`.
outcome() {
  python3 -c '
import json, sys
response = json.load(sys.stdin)
if not response.get("allowed", response.get("accepted")):
    print("rejected")
elif response.get("patch") or response.get("mutated_object"):
    print("mutated")
else:
    print("accepted")'
}

failures=0
total=0
while IFS=$'\t' read -r name request settings expect replay; do
  total=$((total + 1))
  # The module reads LimitRanges only where granted and answered.
  context_aware=()
  if [ -n "$replay" ]; then
    context_aware=(--allow-context-aware --replay-host-capabilities-interactions "$replay")
  fi
  if response=$(kwctl run "${context_aware[@]}" --request-path "$request" --settings-json "$settings" "$module" 2>/dev/null); then
    actual=$(outcome <<<"$response")
  else
    actual=invalid-settings
  fi
  if [ "$actual" = "$expect" ]; then
    echo "ok    $name"
  else
    echo "FAIL  $name: expected $expect, kwctl says $actual"
    failures=$((failures + 1))
  fi
done < <(cargo run --quiet -p hardening-runner --bin hardening-cases)

echo "e2e-kwctl: $((total - failures)) of $total cases agree"
[ "$failures" -eq 0 ]
