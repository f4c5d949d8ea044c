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
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_registry() { # DIR PORT
  cat > "$1.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $1}
http: {addr: 127.0.0.1:$2}
YML
  docker-registry serve "$1.yml" >"$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$2/v2/" >/dev/null && break; sleep 0.1; done
}
[ -d "$work/img300" ] || python3 "$root/bench/make-image.py" "$work/img300" big 6 300 1 >&2
src_port=$(free_port); rm -rf "$work/push-src"; start_registry "$work/push-src" "$src_port"
skopeo copy -q --dest-tls-verify=false "oci:$work/img300:big" "docker://127.0.0.1:$src_port/bench/big:1"
export DAVIT_HOME="$work/push-home"; rm -rf "$DAVIT_HOME"
"$root/davit" pull -q "127.0.0.1:$src_port/bench/big:1" >/dev/null
store="$DAVIT_HOME/store"
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/push-davit.ms"; : > "$work/push-skopeo.ms"
for i in $(seq "$rounds"); do
  p=$(free_port); rm -rf "$work/push-dst-d"; start_registry "$work/push-dst-d" "$p"
  t0=$(now); "$root/davit" push -q "127.0.0.1:$src_port/bench/big:1" "127.0.0.1:$p/bench/big:1" >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/push-davit.ms"
  kill "${pids[-1]}"; unset 'pids[-1]'
  p=$(free_port); rm -rf "$work/push-dst-s"; start_registry "$work/push-dst-s" "$p"
  t0=$(now); skopeo copy -q --dest-tls-verify=false "oci:$store:127.0.0.1:$src_port/bench/big:1" "docker://127.0.0.1:$p/bench/big:1" >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/push-skopeo.ms"
  kill "${pids[-1]}"; unset 'pids[-1]'
done
d=$(median < "$work/push-davit.ms"); s=$(median < "$work/push-skopeo.ms")
echo "| push ~300 MB to an empty registry, median of $rounds (ms) | $d | $s | $(python3 -c "print(f'{$d/$s:.2f}')") |"
