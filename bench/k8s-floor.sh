#!/usr/bin/env bash
# The cluster's own floor under bench/k8s.sh's "50 at once": N bare busybox pods applied with kubectl at once, timed
# until all run, without davit. Once with an init container that copies a file into an emptyDir (as a davit pod's
# init container puts the agent in place), once without; ROUNDS times each, alternating. On the cluster of
# scripts/cluster.sh (started here when it is not up, and then stopped). Wall times in ms.
#   bench/k8s-floor.sh [N (default 50)] [ROUNDS (default 2)]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-50}"
rounds="${2:-2}"
ns=davit-floor
started=
if ! bash "$root/scripts/cluster.sh" status >/dev/null 2>&1; then
  bash "$root/scripts/cluster.sh" up >/dev/null
  started=1
fi
k() { bash "$root/scripts/cluster.sh" kubectl "$@"; }
trap 'k delete namespace "$ns" --wait=false >/dev/null 2>&1 || true; [ -n "$started" ] && bash "$root/scripts/cluster.sh" down >/dev/null 2>&1' EXIT
set -a; . "${DAVIT_CLUSTER_STATE:-/var/lib/davit-cluster}/cluster.env"; set +a
image="$DAVIT_CLUSTER_BUSYBOX_IMAGE"
k create namespace "$ns" >/dev/null 2>&1 || true
small='{requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 64Mi}}'

pods() { # init|plain: N pods' manifests
  for i in $(seq "$n"); do
    printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: floor-%s, namespace: %s, labels: {davit-floor: "1"}}\n' "$i" "$ns"
    printf 'spec:\n  automountServiceAccountToken: false\n  enableServiceLinks: false\n  terminationGracePeriodSeconds: 2\n'
    printf '  volumes: [{name: d, emptyDir: {}}]\n'
    [ "$1" = init ] && printf '  initContainers: [{name: copy, image: %s, command: [cp, /bin/busybox, /d/], volumeMounts: [{name: d, mountPath: /d}], resources: %s}]\n' "$image" "$small"
    printf '  containers: [{name: main, image: %s, command: [sleep, "3600"], volumeMounts: [{name: d, mountPath: /d}], resources: %s}]\n' "$image" "$small"
  done
}

for r in $(seq "$rounds"); do
  for kind in init plain; do
    pods "$kind" > "/tmp/davit-floor-$$.yaml"
    t0=$(date +%s%N)
    k apply -f "/tmp/davit-floor-$$.yaml" >/dev/null
    until [ "$(k get pods -n "$ns" -l davit-floor=1 --field-selector=status.phase=Running --no-headers 2>/dev/null | wc -l)" -ge "$n" ]; do
      sleep 0.2
    done
    t1=$(date +%s%N)
    echo "round $r: $n bare pods at once, $( [ "$kind" = init ] && echo "with an init container" || echo "no init container"): $(( (t1 - t0) / 1000000 )) ms"
    k delete pods -n "$ns" -l davit-floor=1 --wait=true >/dev/null
  done
done
rm -f "/tmp/davit-floor-$$.yaml"
