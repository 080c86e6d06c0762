#!/usr/bin/env bash
# End-to-end in a real cluster: kind + a local OCI registry + Kubewarden,
# then the policy's promises checked with kubectl. Skips, naming the missing
# tool, where docker (with a running engine), kind, helm, kubectl or kwctl
# is absent. Cleans up after itself, also on failure.
#
#   make e2e-kind                  # build, annotate, run
#   KEEP_CLUSTER=1 make e2e-kind   # leave the cluster up to look around
set -euo pipefail
cd "$(dirname "$0")/../.."

# Every version this suite installs, pinned.
readonly KIND_NODE_IMAGE=kindest/node:v1.33.1
readonly REGISTRY_IMAGE=registry:2.8.3
readonly KUBEWARDEN_CHART_VERSION=6.0.0   # chart admission-controller = Kubewarden 1.37
readonly CLUSTER=hardening-e2e
readonly REGISTRY=hardening-e2e-registry
readonly REGISTRY_HOST_PORT=5001
readonly POLICY_REF="registry://${REGISTRY}:5000/deployment-hardening:e2e"
readonly NAMESPACE=hardening-e2e
readonly EXEMPT_NAMESPACE=hardening-e2e-exempt
readonly LIMITED_NAMESPACE=hardening-e2e-limited
readonly WAIT=300s

for tool in docker kind helm kubectl kwctl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "e2e-kind: skipped: $tool is not installed"
    exit 0
  fi
done
if ! docker info >/dev/null 2>&1; then
  echo "e2e-kind: skipped: docker is installed but no Docker engine is running"
  exit 0
fi

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'e2e-kind: FAIL: %s\n' "$*" >&2; exit 1; }

cleanup() {
  if [ "${KEEP_CLUSTER:-}" = 1 ]; then
    echo "e2e-kind: KEEP_CLUSTER=1, leaving cluster $CLUSTER and registry $REGISTRY"
    return
  fi
  kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  docker rm -f "$REGISTRY" >/dev/null 2>&1 || true
  rm -f "${sources:-}"
}
trap cleanup EXIT

# expect_jsonpath KIND/NAME NAMESPACE JSONPATH EXPECTED
expect_jsonpath() {
  local actual
  actual=$(kubectl get "$1" -n "$2" -o "jsonpath=$3")
  [ "$actual" = "$4" ] || fail "$1 $3 is '$actual', expected '$4'"
  echo "ok: $1 $3 = $4"
}

# bare_httpbin NAME: the bare three-replica Deployment under another name.
bare_httpbin() {
  sed "s/name: httpbin$/name: $1/" policy/examples/workloads/httpbin-bare.yaml | sed '/namespace: default/d'
}

log "cluster: kind $CLUSTER with $KIND_NODE_IMAGE, registry $REGISTRY_IMAGE"
kind create cluster --name "$CLUSTER" --image "$KIND_NODE_IMAGE" --config e2e/kind/cluster.yaml --wait "$WAIT"
docker run -d --restart=no --name "$REGISTRY" -p "127.0.0.1:${REGISTRY_HOST_PORT}:5000" "$REGISTRY_IMAGE" >/dev/null
docker network connect kind "$REGISTRY"

zone=0
for node in $(kubectl get nodes -l '!node-role.kubernetes.io/control-plane' -o name); do
  zone=$((zone + 1))
  kubectl label "$node" "topology.kubernetes.io/zone=zone-$zone" --overwrite >/dev/null
done

log "policy: push the annotated module to the local registry"
make annotated-policy.wasm
sources=$(mktemp)
printf 'insecure_sources:\n  - "localhost:%s"\n' "$REGISTRY_HOST_PORT" > "$sources"
kwctl push --sources-path "$sources" annotated-policy.wasm \
  "registry://localhost:${REGISTRY_HOST_PORT}/deployment-hardening:e2e"

log "kubewarden: admission-controller chart $KUBEWARDEN_CHART_VERSION"
helm repo add kubewarden https://charts.kubewarden.io --force-update >/dev/null
helm install kubewarden kubewarden/admission-controller --version "$KUBEWARDEN_CHART_VERSION" \
  --namespace kubewarden --create-namespace --wait --timeout "$WAIT"
# The registry speaks plain HTTP inside the kind network.
kubectl patch policyserver default --type merge \
  -p "{\"spec\":{\"insecureSources\":[\"${REGISTRY}:5000\"]}}"
kubectl -n kubewarden rollout status deployment/policy-server-default --timeout "$WAIT"
# The policy lists LimitRanges (contextAwareResources); its PolicyServer may.
service_account=$(kubectl -n kubewarden get deployment policy-server-default \
  -o jsonpath='{.spec.template.spec.serviceAccountName}')
sed "s/SERVICE_ACCOUNT/${service_account:-default}/" e2e/kind/limitrange-reader.yaml | kubectl apply -f -

# apply_policy FILE NAME SETTINGS_JSON MODE: an example policy pointing at the
# local registry, with the given settings and mode; waits until it serves.
apply_policy() {
  sed "s#module: .*#module: ${POLICY_REF}#" "$1" | kubectl apply -f -
  kubectl patch clusteradmissionpolicy "$2" --type merge \
    -p "{\"spec\":{\"mode\":\"$4\",\"settings\":$3}}"
  kubectl wait --for=condition=PolicyActive "clusteradmissionpolicy/$2" --timeout "$WAIT"
  kubectl wait --for=condition=PolicyUniquelyReachable "clusteradmissionpolicy/$2" --timeout "$WAIT"
}

kubectl create namespace "$NAMESPACE"
kubectl create namespace "$EXEMPT_NAMESPACE"

log "mutate mode: the bare httpbin Deployment is admitted hardened"
apply_policy policy/examples/cluster-mutate.yaml deployment-hardening \
  "{\"mode\":\"mutate\",\"exemptNamespaces\":[\"${EXEMPT_NAMESPACE}\"]}" protect
bare_httpbin httpbin | kubectl apply -n "$NAMESPACE" -f -
pod_spec='{.spec.template.spec'
expect_jsonpath deployment/httpbin "$NAMESPACE" "${pod_spec}.securityContext.runAsNonRoot}" true
expect_jsonpath deployment/httpbin "$NAMESPACE" "${pod_spec}.securityContext.seccompProfile.type}" RuntimeDefault
expect_jsonpath deployment/httpbin "$NAMESPACE" "${pod_spec}.containers[0].securityContext.readOnlyRootFilesystem}" true
expect_jsonpath deployment/httpbin "$NAMESPACE" "${pod_spec}.containers[0].securityContext.allowPrivilegeEscalation}" false
expect_jsonpath deployment/httpbin "$NAMESPACE" "${pod_spec}.containers[0].securityContext.capabilities.drop[0]}" ALL
expect_jsonpath deployment/httpbin "$NAMESPACE" "${pod_spec}.containers[0].volumeMounts[0].mountPath}" /tmp
expect_jsonpath deployment/httpbin "$NAMESPACE" "${pod_spec}.containers[0].resources.requests.cpu}" 100m
expect_jsonpath deployment/httpbin "$NAMESPACE" "${pod_spec}.topologySpreadConstraints[0].topologyKey}" kubernetes.io/hostname

log "the hardened pods become Ready with a read-only root, on three different nodes"
kubectl -n "$NAMESPACE" rollout status deployment/httpbin --timeout "$WAIT"
read_only=$(kubectl -n "$NAMESPACE" get pods -l app=httpbin \
  -o jsonpath='{range .items[*]}{.spec.containers[0].securityContext.readOnlyRootFilesystem}{"\n"}{end}' | sort -u)
[ "$read_only" = true ] || fail "running pods have readOnlyRootFilesystem '$read_only'"
nodes=$(kubectl -n "$NAMESPACE" get pods -l app=httpbin -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | wc -l)
[ "$nodes" -eq 3 ] || fail "the 3 replicas landed on $nodes nodes"
echo "ok: 3 Ready replicas on 3 nodes, read-only root"

log "no fight with the Deployment controller: one ReplicaSet, equal to the hardened template, stays"
sleep 15
replica_sets=$(kubectl -n "$NAMESPACE" get rs -l app=httpbin --no-headers | wc -l)
[ "$replica_sets" -eq 1 ] || fail "the hardened Deployment has $replica_sets ReplicaSets"
echo "ok: 1 ReplicaSet"

log "a forged ownerReference exempts nothing: a privileged Pod claiming the ReplicaSet is rejected"
replica_set=$(kubectl -n "$NAMESPACE" get rs -l app=httpbin -o jsonpath='{.items[0].metadata.name}')
replica_set_uid=$(kubectl -n "$NAMESPACE" get rs "$replica_set" -o jsonpath='{.metadata.uid}')
if output=$(kubectl apply -n "$NAMESPACE" -f - 2>&1 <<FORGED
apiVersion: v1
kind: Pod
metadata:
  name: forged-owner
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: ${replica_set}, uid: ${replica_set_uid}, controller: true}
spec:
  containers:
    - name: root
      image: mccutchen/go-httpbin:v2.15.0
      securityContext: {privileged: true}
FORGED
); then
  fail "a privileged Pod claiming ReplicaSet $replica_set was admitted"
fi
grep -q "privileged: is true" <<<"$output" || fail "unexpected rejection: $output"
echo "ok: rejected, naming $(grep -o '(controller: [^)]*)' <<<"$output")"

log "kubectl debug on a ReplicaSet's pod: the debug container is hardened"
debugged=$(kubectl -n "$NAMESPACE" get pods -l app=httpbin -o jsonpath='{.items[0].metadata.name}')
kubectl -n "$NAMESPACE" debug "pod/$debugged" --image=mccutchen/go-httpbin:v2.15.0 --container=debugger -- true
expect_jsonpath "pod/$debugged" "$NAMESPACE" '{.spec.ephemeralContainers[0].securityContext.allowPrivilegeEscalation}' false
expect_jsonpath "pod/$debugged" "$NAMESPACE" '{.spec.ephemeralContainers[0].securityContext.capabilities.drop[0]}' ALL

log "a LimitRange's default limit below the policy's request: LimitRanger gives the request, pods start"
kubectl create namespace "$LIMITED_NAMESPACE"
kubectl apply -n "$LIMITED_NAMESPACE" -f - <<'LIMITS'
apiVersion: v1
kind: LimitRange
metadata: {name: small-memory}
spec:
  limits: [{type: Container, default: {memory: 64Mi}}]
LIMITS
bare_httpbin limited | kubectl apply -n "$LIMITED_NAMESPACE" -f -
expect_jsonpath deployment/limited "$LIMITED_NAMESPACE" "${pod_spec}.containers[0].resources.requests}" '{"cpu":"100m"}'
kubectl -n "$LIMITED_NAMESPACE" rollout status deployment/limited --timeout "$WAIT"
echo "ok: no memory default against a 64Mi default limit, and the pods run"

log "an explicit runAsUser: 0 is rejected with the policy's message"
if output=$(bare_httpbin root-user | sed 's/ports:/securityContext: {runAsUser: 0}\n          ports:/' \
    | kubectl apply -n "$NAMESPACE" -f - 2>&1); then
  fail "a runAsUser: 0 Deployment was admitted"
fi
grep -q "securityContext.runAsUser: is 0 (root)" <<<"$output" || fail "unexpected rejection: $output"
echo "ok: rejected: $(grep -o 'spec.template.spec.containers\[httpbin\].securityContext.runAsUser[^;]*' <<<"$output")"

log "an exempt namespace passes untouched"
bare_httpbin untouched | kubectl apply -n "$EXEMPT_NAMESPACE" -f -
expect_jsonpath deployment/untouched "$EXEMPT_NAMESPACE" "${pod_spec}.securityContext}" '{}'
expect_jsonpath deployment/untouched "$EXEMPT_NAMESPACE" "${pod_spec}.topologySpreadConstraints}" ''

log "validate mode: the bare Deployment is rejected, the hardened one admitted"
kubectl delete clusteradmissionpolicy deployment-hardening --wait
# Made while no policy applies: what a cluster holds from before the policy.
kubectl apply -n "$NAMESPACE" -f - <<'LEGACY'
apiVersion: v1
kind: Pod
metadata:
  name: legacy
  finalizers: [example.com/hold]
spec:
  containers:
    - {name: web, image: mccutchen/go-httpbin:v2.15.0}
LEGACY
bare_httpbin legacy | sed 's/replicas: 3/replicas: 1/' | kubectl apply -n "$NAMESPACE" -f -
apply_policy policy/examples/cluster-audit.yaml deployment-hardening-audit '{"mode":"validate"}' monitor
kubectl patch clusteradmissionpolicy deployment-hardening-audit --type merge -p '{"spec":{"mode":"protect"}}'
kubectl wait --for=condition=PolicyUniquelyReachable clusteradmissionpolicy/deployment-hardening-audit --timeout "$WAIT"
if output=$(bare_httpbin bare-validate | kubectl apply -n "$NAMESPACE" -f - 2>&1); then
  fail "validate mode admitted the bare Deployment"
fi
grep -q "is not compliant (8 problems)" <<<"$output" || fail "unexpected rejection: $output"
sed '/namespace: default/d' policy/examples/workloads/httpbin-hardened.yaml | kubectl apply -n "$NAMESPACE" -f -
echo "ok: bare rejected with 8 problems, hardened admitted"

log "validate mode: a Pod from before the policy may still be labelled, annotated and finalized"
kubectl -n "$NAMESPACE" label pod legacy team=web
kubectl -n "$NAMESPACE" annotate pod legacy example.com/note=kept
kubectl -n "$NAMESPACE" delete pod legacy --wait=false
kubectl -n "$NAMESPACE" patch pod legacy --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
kubectl -n "$NAMESPACE" wait --for=delete pod/legacy --timeout "$WAIT"
echo "ok: labelled, annotated, and deleted once its finalizer was removed"

log "validate mode: restarting a Deployment from before the policy is accepted, warning of the rejected rollout"
output=$(kubectl -n "$NAMESPACE" rollout restart deployment/legacy 2>&1)
grep -q "so the pods it rolls out will be rejected" <<<"$output" || fail "no warning on the restart: $output"
echo "ok: warned: $(grep -m1 -o 'the pod template has [0-9]* problems' <<<"$output")"

echo
echo "e2e-kind: all checks passed"
