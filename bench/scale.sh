#!/usr/bin/env bash
# davit at a thousand sandboxes: N sandboxes on the k8s backend through the library (bench/ScaleBench.java: created
# and started AT_ONCE at a time until each pod runs, listed, removed), on the simulated nodes of scripts/cluster.sh
# (kwok; no container runs in them: a sandbox there ends at Running, see docs/reference/TEST-CLUSTER.md), with the API server's
# request counts per phase. Starts the cluster with enough simulated nodes (110 pods each) when none is up, and
# stops it then. BASE_JAR=path/to/an/older/davit.jar: the same rows with that build, in the same run. SCALE_ON=real:
# on the real nodes instead (for a build that cannot ask for simulated ones), SCALE_LIMITS=none: without limits.
# SCALE_FAULT=restart: the API server restarted when half the creates ended (ScaleBench.java says what it counts).
#   bench/scale.sh [N (default 1000)] [AT_ONCE (default 100)]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-1000}"
at_once="${2:-100}"
work="${BENCH_WORK:-$root/bench/work}/scale"
. "$root/bench/busybox.sh"        # a registry and the busybox image: $ref; DAVIT_HOME=$work/home
started=
if ! bash "$root/scripts/cluster.sh" status >/dev/null 2>&1; then
  DAVIT_CLUSTER_SIMULATED_NODES=$(( (n + 109) / 110 + 1 )) bash "$root/scripts/cluster.sh" up >/dev/null
  started=1
fi
trap '[ -n "$started" ] && bash "$root/scripts/cluster.sh" down >/dev/null 2>&1; davit_stop_registries' EXIT
set -a; . "${DAVIT_CLUSTER_STATE:-/var/lib/davit-cluster}/cluster.env"; set +a
[ "${DAVIT_CLUSTER_SIMULATED_NODES:-0}" -gt 0 ] \
  || { echo "scale: the cluster has no simulated nodes; down it, or run DAVIT_CLUSTER_SIMULATED_NODES=N scripts/cluster.sh up" >&2; exit 1; }
export DAVIT_K8S_REGISTRY="$DAVIT_CLUSTER_REGISTRY" DAVIT_K8S_NAMESPACE=davit-scale
if [ "${SCALE_ON:-simulated}" = simulated ]; then
  export DAVIT_K8S_NODE_SELECTOR="$DAVIT_CLUSTER_SIMULATED_LABEL" DAVIT_K8S_TOLERATIONS="$DAVIT_CLUSTER_SIMULATED_TAINT"
fi
bash "$root/scripts/cluster.sh" kubectl create namespace davit-scale >/dev/null 2>&1 || true
"$root/davit" run -q "$ref" -- true >/dev/null       # pull and unpack once
. "$root/scripts/find-java.sh"
export SCALE_ROOT="$root"
bench() {
  "$DAVIT_JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$1" "$root/bench/ScaleBench.java" \
    "$DAVIT_HOME" "$ref" "$n" "$at_once" "$KUBECONFIG"
}
echo "== this build ($n sandboxes, $DAVIT_CLUSTER_SIMULATED_NODES simulated nodes)"
bench "$root/davit-cli/target/davit.jar"
if [ -n "${BASE_JAR:-}" ]; then
  echo "== previous build"
  bench "$BASE_JAR" || echo "previous build: failed"
fi
