#!/usr/bin/env bash
# Whole-process `davit run IMAGE -- true` (container backend) vs the raw runtime `bwrap ... true`, same rootfs.
#   bench/sandbox.sh [ROUNDS]    (default 10)
# The image is a static busybox rootfs built by `davit build`, pushed to a throwaway registry, pulled and unpacked
# once before timing (so the runs measure start-up, sandbox creation, exec and clean-up).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-10}"
bash "$root/scripts/install-deps.sh" >/dev/null
work="${BENCH_WORK:-$root/bench/work}/sandbox"
rm -rf "$work"; mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true echo; do ln -sf busybox "$work/rootfs/bin/$a"; done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $work/registry}
http: {addr: 127.0.0.1:$port}
YML
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
reg=$!
trap 'kill $reg 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
export DAVIT_HOME="$work/home"
ref="127.0.0.1:$port/bench/busybox:1"
"$root/davit" build -q "$work/rootfs" "$ref" --push >/dev/null
rm -rf "$DAVIT_HOME"
"$root/davit" run -q "$ref" -- true >/dev/null   # pull + unpack once
rootfs=$(ls -d "$DAVIT_HOME"/rootfs/*/ | head -1)
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/davit.ms"; : > "$work/bwrap.ms"
for i in $(seq "$rounds"); do
  t0=$(now); "$root/davit" run -q "$ref" -- true >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/davit.ms"
  t0=$(now); bwrap --unshare-all --die-with-parent --new-session --ro-bind "$rootfs" / --proc /proc --dev /dev \
    --tmpfs /tmp --clearenv --chdir / -- /bin/true; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/bwrap.ms"
done
d=$(median < "$work/davit.ms"); b=$(median < "$work/bwrap.ms")
echo "| \`davit run IMAGE -- true\`, container backend, whole process, median of $rounds (ms) | $d | $b (bwrap) | $(python3 -c "print(f'{$d/max($b,1):.1f}')") |"
