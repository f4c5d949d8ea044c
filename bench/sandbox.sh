#!/usr/bin/env bash
# Whole-process `davit run IMAGE -- true` per container runtime (bwrap, crun, runc) vs the raw runtime on the same
# rootfs (`bwrap ... true`; `crun|runc run` of a bundle made by `runc spec`), and, when bench/work has a VM
# environment (see bench/vm.sh), the vm backend.
#   bench/sandbox.sh [ROUNDS]    (default 10)
# The image is a static busybox rootfs built by `davit build`, pushed to a throwaway registry, pulled and unpacked
# once before timing (so the runs measure start-up, sandbox creation, exec and clean-up).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-10}"
work="${BENCH_WORK:-$root/bench/work}/sandbox"
. "$root/bench/busybox.sh"
"$root/davit" run -q "$ref" -- true >/dev/null   # pull + unpack once
rootfs=$(ls -d "$DAVIT_HOME"/rootfs/*/ | head -1)
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# a bundle for the raw OCI runtimes: runc's default spec, no terminal, /bin/true, read-only root
mkdir -p "$work/bundle"
(cd "$work/bundle" && runc spec)
python3 - "$work/bundle/config.json" "$rootfs" <<'PY'
import json, sys
p, root = sys.argv[1], sys.argv[2]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
c["root"] = {"path": root, "readonly": True}
c["linux"].pop("cgroupsPath", None)
json.dump(c, open(p, "w"))
PY
# crun 1.8 refuses hybrid cgroups unless it cannot see /sys/fs/cgroup/unified (the same trick davit uses)
crun_raw() {
  unshare --mount --propagation private -- sh -c 'mountpoint -q /sys/fs/cgroup/unified && mount -t tmpfs -o ro tmpfs /sys/fs/cgroup/unified; exec crun --cgroup-manager=disabled --root "$1" run --bundle "$2" "$3"' sh "$work/crun-root" "$work/bundle" "bench-$1"
}
runc_raw() { runc --root "$work/runc-root" run --bundle "$work/bundle" "bench-$1"; }
ms() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo $(( (t1 - t0) / 1000000 )); }
row() { # label davit-file raw-file raw-name
  local d b; d=$(median < "$1"); b=$(median < "$2")
  echo "| \`davit run IMAGE --runtime $3 -- true\`, whole process, median of $rounds (ms) | $d | $b ($3) | $(python3 -c "print(f'{$d/max($b,1):.1f}')") |"
}
for rt in bwrap crun runc; do : > "$work/davit-$rt.ms"; : > "$work/raw-$rt.ms"; done
for i in $(seq "$rounds"); do
  for rt in bwrap crun runc; do
    ms "$root/davit" run -q "$ref" --runtime "$rt" -- true >> "$work/davit-$rt.ms"
  done
  ms bwrap --unshare-all --die-with-parent --new-session --ro-bind "$rootfs" / --proc /proc --dev /dev \
    --tmpfs /tmp --clearenv --chdir / -- /bin/true >> "$work/raw-bwrap.ms"
  ms crun_raw "$i" >> "$work/raw-crun.ms"
  ms runc_raw "$i" >> "$work/raw-runc.ms"
done
for rt in bwrap crun runc; do row "$work/davit-$rt.ms" "$work/raw-$rt.ms" "$rt"; done

# the vm backend: a busybox microVM environment from `davit env build` (Debian kernel, initrd, rootfs.ext4).
# The raw figure is QEMU's boot to agent-ready as davit measures it (the `start` phase of `--json` timings).
if command -v qemu-system-x86_64 >/dev/null; then
  "$root/davit" -q env build busybox --version 1 >/dev/null
  "$root/davit" -q run localhost/davit/busybox-vm:1 -- true >/dev/null   # link the environment once
  : > "$work/davit-vm.ms"; : > "$work/boot-vm.ms"
  for i in $(seq "$rounds"); do
    t0=$(now); "$root/davit" --json run localhost/davit/busybox-vm:1 -- true > "$work/vm.json"; t1=$(now)
    echo $(( (t1 - t0) / 1000000 )) >> "$work/davit-vm.ms"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["timings_ms"]["start"])' "$work/vm.json" \
      >> "$work/boot-vm.ms"
  done
  accel=$("$root/davit" --json doctor | python3 -c 'import json,sys; print([b for b in json.load(sys.stdin)["backends"] if b["name"]=="vm"][0]["facts"].get("accel","?"))')
  d=$(median < "$work/davit-vm.ms"); b=$(median < "$work/boot-vm.ms")
  echo "| \`davit run ENV-vm -- true\`, vm backend ($accel), whole process, median of $rounds (ms) | $d | $b (QEMU boot to agent-ready) | $(python3 -c "print(f'{$d/max($b,1):.2f}')") |"
fi
