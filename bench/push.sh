#!/usr/bin/env bash
# davit push vs skopeo copy oci:... docker://..., whole processes, alternating, same run.
#   bench/push.sh [ROUNDS]     (default 5)
# The ~300 MB, 6-layer image from bench/make-image.py is pulled into a davit store once; each round then pushes
# it to a brand-new empty registry (fresh storage), once with `davit push` and once with skopeo from the same
# OCI layout (davit's store is one), so neither tool can skip or mount blobs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}"
bash "$root/scripts/install-deps.sh" >/dev/null
. "$root/scripts/find-java.sh"
export JAVA_HOME="$DAVIT_JAVA_HOME"
[ -f "$root/davit-cli/target/davit.jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests package -pl davit-cli -am)
work="${BENCH_WORK:-$root/bench/work}"
mkdir -p "$work"
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
[ -d "$work/img300" ] || python3 "$root/bench/make-image.py" "$work/img300" big 6 300 1 >&2
davit_start_registry "$work/push-src"; src_port=$REGISTRY_PORT
skopeo copy -q --dest-tls-verify=false "oci:$work/img300:big" "docker://127.0.0.1:$src_port/bench/big:1"
export DAVIT_HOME="$work/push-home"; rm -rf "$DAVIT_HOME"
"$root/davit" pull -q "127.0.0.1:$src_port/bench/big:1" >/dev/null
store="$DAVIT_HOME/store"
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/push-davit.ms"; : > "$work/push-skopeo.ms"
for i in $(seq "$rounds"); do
  davit_start_registry "$work/push-dst-d"; p=$REGISTRY_PORT
  t0=$(now); "$root/davit" push -q "127.0.0.1:$src_port/bench/big:1" "127.0.0.1:$p/bench/big:1" >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/push-davit.ms"
  kill "$REGISTRY_PID"
  davit_start_registry "$work/push-dst-s"; p=$REGISTRY_PORT
  t0=$(now); skopeo copy -q --dest-tls-verify=false "oci:$store:127.0.0.1:$src_port/bench/big:1" "docker://127.0.0.1:$p/bench/big:1" >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/push-skopeo.ms"
  kill "$REGISTRY_PID"
done
d=$(median < "$work/push-davit.ms"); s=$(median < "$work/push-skopeo.ms")
echo "| push ~300 MB to an empty registry, median of $rounds (ms) | $d | $s | $(python3 -c "print(f'{$d/$s:.2f}')") |"
