#!/usr/bin/env bash
# The k8s backend against the local container backend, in one run, on the cluster of scripts/cluster.sh (started
# here when it is not up, and then stopped). Through the CLI, as a user runs it: a long-lived sandbox's create (the
# first one of an image: pushed to the cluster's registry and pulled by the node; then warm: image in place) and exec
# p50/p90 of `true`. Through the library in one warm JVM (bench/K8sBench.java), as the MCP server or an embedding
# program runs it: workspace create cold and from a warm pool, exec of `true`, and AT_ONCE workspaces created at
# once (how many then ran a command). BASE_JAR=path/to/an/older/davit.jar: the library rows with that build too, in
# the same run. Wall times in ms.
#   bench/k8s.sh [ROUNDS (default 20)] [AT_ONCE (default 50)]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
execs="${1:-20}"
at_once="${2:-50}"
work="${BENCH_WORK:-$root/bench/work}/k8s"
. "$root/bench/busybox.sh"        # a registry and the busybox image: $ref; DAVIT_HOME=$work/home
started=
if ! bash "$root/scripts/cluster.sh" status >/dev/null 2>&1; then
  bash "$root/scripts/cluster.sh" up >/dev/null
  started=1
fi
trap '[ -n "$started" ] && bash "$root/scripts/cluster.sh" down >/dev/null 2>&1; davit_stop_registries' EXIT
set -a; . "${DAVIT_CLUSTER_STATE:-/var/lib/davit-cluster}/cluster.env"; set +a
export DAVIT_K8S_REGISTRY="$DAVIT_CLUSTER_REGISTRY" DAVIT_K8S_NAMESPACE=davit-bench
bash "$root/scripts/cluster.sh" kubectl create namespace davit-bench >/dev/null 2>&1 || true
davit() { "$root/davit" "$@"; }
now() { date +%s%N; }
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100+0.999); if (i<1) i=1; print a[i]}'; }
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
davit run -q "$ref" -- true >/dev/null       # pull, unpack and the AOT cache, once
for backend in container k8s; do
  for kind in first warm; do
    t0=$(now); id=$(davit sandbox create -q --json --backend "$backend" "$ref" | id_of); t1=$(now)
    echo "$backend create ($kind): $(( (t1 - t0) / 1000000 )) ms"
    : > "$work/exec-$backend.t"
    for _ in $(seq "$execs"); do
      t0=$(now); davit sandbox exec -q "$id" -- true >/dev/null; t1=$(now)
      echo $(( (t1 - t0) / 1000000 )) >> "$work/exec-$backend.t"
    done
    [ "$kind" = warm ] && echo "$backend exec of true: p50 $(pct 50 < "$work/exec-$backend.t") ms, p90 $(pct 90 < "$work/exec-$backend.t") ms"
    t0=$(now); davit sandbox rm -q "$id" >/dev/null; t1=$(now)
    [ "$kind" = warm ] && echo "$backend rm: $(( (t1 - t0) / 1000000 )) ms"
  done
done
. "$root/scripts/find-java.sh"
jar="$root/davit-cli/target/davit.jar"
api() {
  "$DAVIT_JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$1" "$root/bench/K8sBench.java" \
    "$DAVIT_HOME" "$ref" "$2" "$execs" "$at_once"
}
for backend in container k8s; do
  api "$jar" "$backend" | sed 's/^/this build, library: /'
  if [ -n "${BASE_JAR:-}" ]; then
    api "$BASE_JAR" "$backend" 2>&1 | sed 's/^/previous build, library: /' || echo "previous build: no $backend rows"
  fi
done
