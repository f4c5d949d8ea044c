#!/usr/bin/env bash
# Fork, pause and resume of workspaces through the Java API (bench/ForkBench.java), with peers in the same run:
#   fork of a container workspace holding 10,000 files (its own disk, as root), of 1 and of 8, against `cp -a` of
#   the same 10,000 files (what a copy of /workspace alone costs);
#   pause and resume of that container workspace (the cgroup freezer);
#   with ENV_DIR (a microVM environment, e.g. ~/.cache/davit-test/vm/envs/*), pause and resume of a 256 MiB microVM
#   workspace with a service running, against its stop and start (a boot).
#   bench/fork.sh [ROUNDS] [ENV_DIR]    (default 11; as root)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-11}"
env_dir="${2:-}"
bash "$root/scripts/install-deps.sh" >/dev/null
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
jar="$root/davit-cli/target/davit.jar"
[ -f "$jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests -Ddavit.it.skip=true package -pl davit-cli -am)
work="${BENCH_WORK:-$root/bench/work}/fork"
rm -rf "$work"; mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp" \
  "$work/rootfs/etc"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true echo ls cat sleep; do ln -sf busybox "$work/rootfs/bin/$a"; done
python3 - "$work" <<'PY'
import os, sys
w = sys.argv[1]
for i in range(10000):
    d = os.path.join(w, "seed", "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(("line %d\n" % i * 20).encode())
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s%N; }
"$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$jar" "$root/bench/ForkBench.java" \
  "$work/home" "$work/rootfs" "$work/seed" "$rounds" $env_dir > "$work/out"
: > "$work/cp"
for i in $(seq "$rounds"); do
  rm -rf "$work/cp-tree"; sync; t0=$(now); cp -a "$work/seed" "$work/cp-tree"; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/cp"
done
cp50=$(median < "$work/cp")
row() { awk -v n="$1" '$1 == n {print $2 " / " $3}' "$work/out"; }
p50() { awk -v n="$1" '$1 == n {print $2}' "$work/out"; }
echo "| measurement (ms) | davit p50 / p95 | peer | davit/peer |"
echo "|---|---|---|---|"
echo "| fork of a container workspace with 10,000 files, /etc changed, running, of $rounds | $(row fork-1) | $cp50 (\`cp -a\` of the 10,000 files) | $(python3 -c "print(f'{$(p50 fork-1)/max($cp50,1):.2f}')") |"
echo "| fork into 8 of the same | $(row fork-8) | $(( cp50 * 8 )) (8 \`cp -a\`) | $(python3 -c "print(f'{$(p50 fork-8)/max($cp50*8,1):.2f}')") |"
echo "| pause of the container workspace (cgroup freezer) | $(row container-pause) | | |"
echo "| resume of it | $(row container-resume) | | |"
if [ -n "$env_dir" ]; then
  echo "| pause of a 256 MiB microVM workspace with a service (memory saved, QEMU ended) | $(row vm-pause) | $(row vm-stop) (stop) | $(python3 -c "print(f'{$(p50 vm-pause)/max($(p50 vm-stop),1):.2f}')") |"
  echo "| resume of it (memory restored) | $(row vm-resume) | $(row vm-start) (start: a boot) | $(python3 -c "print(f'{$(p50 vm-resume)/max($(p50 vm-start),1):.2f}')") |"
  echo "| memory saved (bytes) | $(awk '$1 == "vm-saved-bytes" {print $2}' "$work/out") | | |"
fi
rm -rf "$work/cp-tree"
