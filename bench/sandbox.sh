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
. "$root/scripts/registry.sh"
trap davit_stop_registries EXIT
davit_start_registry "$work/registry"
port=$REGISTRY_PORT
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
