#!/usr/bin/env bash
# Seeds the fuzz corpora from the project's fixtures: every e2e request in the
# validate envelope, and the settings the cases use. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")"

mkdir -p corpus/validate corpus/validate_settings corpus/validate_structured
for request in ../e2e/requests/*.json; do
  name=$(basename "$request" .json)
  {
    printf '{"request":'
    cat "$request"
    printf ',"settings":{}}'
  } > "corpus/validate/$name"
done

index=0
while IFS=$'\t' read -r _name _request settings _expect; do
  index=$((index + 1))
  printf '%s' "$settings" > "corpus/validate_settings/case-$index"
done < <(cargo run --quiet --manifest-path ../Cargo.toml -p hardening-runner --bin hardening-cases)
