#!/usr/bin/env bash
# Workspace operations on the container backend (bwrap), davit and a peer measured in the same run:
#   exec of `true` in a warm workspace: Java API (one warm JVM), whole `davit workspace exec` process, and raw
#     `nsenter` into the same sandbox;
#   snapshot and reset of a workspace holding 100 MB in 5,000 files: Java API and `cp -a` of the same tree;
#   diff of a 10,000-file workspace with 10 changes: Java API, `davit workspace diff` and GNU `diff -ru`.
#   bench/workspace.sh [ROUNDS]    (default 21)
#   BASE_JAR=path/to/an/older/davit.jar bench/workspace.sh: the Java API rows are also measured with that build, on
#   the same workspaces in the same run, and a second table compares the two.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-21}"
bash "$root/scripts/install-deps.sh" >/dev/null
. "$root/scripts/find-java.sh"
java="$DAVIT_JAVA_HOME/bin/java"
work="${BENCH_WORK:-$root/bench/work}/workspace"
rm -rf "$work"; mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/dev" "$work/rootfs/tmp"
cp "$(command -v busybox)" "$work/rootfs/bin/busybox"
for a in sh true echo ls cat sleep; do ln -sf busybox "$work/rootfs/bin/$a"; done
. "$root/scripts/registry.sh"
export DAVIT_HOME="$work/home"
cleanup() {
  for w in $("$root/davit" --json workspace ls 2>/dev/null | python3 -c 'import json,sys; [print(w["id"]) for w in json.load(sys.stdin)["workspaces"]]' 2>/dev/null); do
    "$root/davit" -q workspace rm "$w" >/dev/null 2>&1 || true
  done
  davit_stop_registries
}
trap cleanup EXIT
davit_start_registry "$work/registry"
ref="127.0.0.1:$REGISTRY_PORT/bench/busybox:1"
"$root/davit" build -q "$work/rootfs" "$ref" --push >/dev/null
jar="$root/davit-cli/target/davit.jar"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p95() { sort -n | awk '{a[NR]=$1} END {i=int(NR*0.95+0.999); if (i<1) i=1; print a[i]}'; }
now() { date +%s%N; }
ms() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo $(( (t1 - t0) / 1000000 )); }
api() { "$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$jar" "$root/bench/WorkspaceBench.java" "$DAVIT_HOME" "$@"; }
base_rows=()
# the same measurement with BASE_JAR (when set), right after this build's: "name|this p50 p95|base p50 p95"
vs() {
  local name="$1" mine="$2"; shift 2
  [ -n "${BASE_JAR:-}" ] || return 0
  local theirs; theirs=$("$java" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -cp "$BASE_JAR" "$root/bench/WorkspaceBench.java" "$DAVIT_HOME" "$@")
  base_rows+=("$name|$mine|$theirs")
}
# seeds: 5,000 files of 20 KiB (100 MB, random bytes) and 10,000 small text files
python3 - "$work" <<'PY'
import os, sys
w = sys.argv[1]
for name, n, size in (("big", 5000, 20 * 1024), ("many", 10000, 0)):
    for i in range(n):
        d = os.path.join(w, "seed-" + name, "d%03d" % (i // 100))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
            f.write(os.urandom(size) if size else ("line %d\n" % i * 20).encode())
PY
echo "| measurement | davit | peer | davit/peer |"
echo "|---|---|---|---|"

# exec of true
id=$("$root/davit" -q workspace create "$ref" --no-limits)
api "$id" exec "$rounds" > "$work/api-exec"
vs "exec of \`true\`, p50 / p95 of $rounds" "$(cat "$work/api-exec")" "$id" exec "$rounds"
sid=$("$root/davit" --json workspace status "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandbox"])')
pid=$("$root/davit" --json sandbox status "$sid" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("init_pid") or d.get("pid"))')
: > "$work/cli-exec"; : > "$work/raw-exec"
for i in $(seq "$rounds"); do
  ms "$root/davit" -q workspace exec "$id" -- true >> "$work/cli-exec"
  ms nsenter -t "$pid" -a -- /bin/true >> "$work/raw-exec"
done
read -r p50 p95v < "$work/api-exec"
raw=$(median < "$work/raw-exec")
echo "| exec of \`true\` in a warm workspace, Java API, p50 / p95 of $rounds (ms) | $p50 / $p95v | $raw (raw \`nsenter -a\`, median) | $(python3 -c "print(f'{$p50/max($raw,1):.1f}')") |"
c50=$(median < "$work/cli-exec"); c95=$(p95 < "$work/cli-exec")
echo "| \`davit workspace exec ID -- true\`, whole process, p50 / p95 of $rounds (ms) | $c50 / $c95 | $raw (raw \`nsenter -a\`, median) | $(python3 -c "print(f'{$c50/max($raw,1):.1f}')") |"
"$root/davit" -q workspace rm "$id" >/dev/null

# snapshot and reset, 100 MB in 5,000 files
small=$(( rounds < 7 ? rounds : 7 ))
id=$("$root/davit" -q workspace create "$ref" --no-limits --seed "$work/seed-big")
read -r s50 s95 <<< "$(api "$id" snapshot "$small")"
vs "snapshot, 100 MB / 5,000 files, 10 edited, p50 / p95 of $small" "$s50 $s95" "$id" snapshot "$small"
read -r r50 r95 <<< "$(api "$id" reset "$small")"
vs "reset, 100 MB / 5,000 files, 10 edited, p50 / p95 of $small" "$r50 $r95" "$id" reset "$small"
: > "$work/cp"
for i in $(seq "$small"); do
  rm -rf "$work/cp-tree"; ms cp -a "$work/seed-big" "$work/cp-tree" >> "$work/cp"
done
cp50=$(median < "$work/cp")
echo "| snapshot of a 100 MB / 5,000-file workspace with 10 files edited since the last, Java API, p50 / p95 of $small (ms) | $s50 / $s95 | $cp50 (\`cp -a\` of the tree) | $(python3 -c "print(f'{$s50/max($cp50,1):.2f}')") |"
echo "| reset of a 100 MB / 5,000-file workspace with 10 files edited (stop, swap, start), Java API, p50 / p95 of $small (ms) | $r50 / $r95 | $cp50 (\`cp -a\` of the tree) | $(python3 -c "print(f'{$r50/max($cp50,1):.2f}')") |"
"$root/davit" -q workspace rm "$id" >/dev/null

# diff of 10,000 files with 10 changes
id=$("$root/davit" -q workspace create "$ref" --no-limits --seed "$work/seed-many")
"$root/davit" -q workspace exec "$id" -- sh -c 'for i in 0 1 2 3 4 5 6 7 8 9; do echo changed >> d00$i/f000${i}0.txt; done' >/dev/null
read -r d50 d95 <<< "$(api "$id" diff "$small")"
vs "diff of 10,000 files with 10 changes, p50 / p95 of $small" "$d50 $d95" "$id" diff "$small"
: > "$work/cli-diff"; : > "$work/gnu-diff"
base="$DAVIT_HOME/workspaces/$id/baseline"
sid=$("$root/davit" --json workspace status "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sandbox"])')
pid=$("$root/davit" --json sandbox status "$sid" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("init_pid") or d.get("pid"))')
for i in $(seq "$small"); do
  ms "$root/davit" -q workspace diff "$id" >> "$work/cli-diff"
  t0=$(now); diff -ru "$base" "/proc/$pid/root/workspace" >/dev/null || true; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/gnu-diff"
done
g50=$(median < "$work/gnu-diff")
echo "| diff of a 10,000-file workspace with 10 changes, Java API, p50 / p95 of $small (ms) | $d50 / $d95 | $g50 (GNU \`diff -ru\`) | $(python3 -c "print(f'{$d50/max($g50,1):.2f}')") |"
c50=$(median < "$work/cli-diff")
echo "| \`davit workspace diff ID\`, whole process, median of $small (ms) | $c50 | $g50 (GNU \`diff -ru\`) | $(python3 -c "print(f'{$c50/max($g50,1):.2f}')") |"
if [ -n "${BASE_JAR:-}" ]; then
  echo
  echo "| Java API (ms) | this build | previous build ($BASE_JAR) | this/previous (p50) |"
  echo "|---|---|---|---|"
  for r in "${base_rows[@]}"; do
    IFS='|' read -r name mine theirs <<< "$r"
    read -r m50 m95 <<< "$mine"; read -r t50 t95 <<< "$theirs"
    echo "| $name | $m50 / $m95 | $t50 / $t95 | $(python3 -c "print(f'{$m50/max($t50,0.1):.2f}')") |"
  done
fi
