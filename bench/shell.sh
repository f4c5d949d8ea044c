#!/usr/bin/env bash
# Workspace shells on the container backend (bwrap), through the Java API in one warm JVM:
#   close of an interactive sh running `sleep` in the foreground (every process of it gone when it returns);
#   a turn: `echo hi-N` typed, then reads (up to 5 s each) until its output and the next prompt came.
#   bench/shell.sh [ROUNDS]    (default 21)
#   BASE_JAR=path/to/an/older/davit.jar bench/shell.sh: the same rows with that build, on the same workspace.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-21}"
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
work="${BENCH_WORK:-$root/bench/work}/shell"
rm -rf "$work"; mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true echo sleep; do ln -sf busybox "$work/rootfs/bin/$a"; done
. "$root/scripts/registry.sh"
export DAVIT_HOME="$work/home"
id=
cleanup() {
  [ -z "$id" ] || "$root/davit" -q workspace rm "$id" >/dev/null 2>&1 || true
  davit_stop_registries
}
trap cleanup EXIT
davit_start_registry "$work/registry"
ref="127.0.0.1:$REGISTRY_PORT/bench/busybox:1"
"$root/davit" build -q "$work/rootfs" "$ref" --push >/dev/null
id=$("$root/davit" -q workspace create "$ref" --no-limits)
bench() { "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$1" "$root/bench/ShellBench.java" "$DAVIT_HOME" "$id" "$2" "$rounds"; }
jar="$root/davit-cli/target/davit.jar"
echo "| shells, Java API, p50 / p95 of $rounds (ms) | this build |${BASE_JAR:+ previous build |}"
echo "|---|---|${BASE_JAR:+---|}"
for op in close turn; do
  read -r m50 m95 mr <<< "$(bench "$jar" "$op")"
  row="| $op | $m50 / $m95${mr:+ ($mr reads)}"
  if [ -n "${BASE_JAR:-}" ]; then
    read -r t50 t95 tr <<< "$(bench "$BASE_JAR" "$op")"
    row="$row | $t50 / $t95${tr:+ ($tr reads)}"
  fi
  echo "$row |"
done
