#!/usr/bin/env bash
# davit unpack against umoci unpack --rootless and plain tar, on the same ~300 MB image, same machine, same run.
#   bench/unpack.sh [ROUNDS]        (default 5)
# The image is bench/make-image.py's (6 gzip layers, ~300 MB); it is put into a davit store directly (the store is
# an OCI layout), so no registry is involved. Timed, as whole processes, alternating in every round:
#   davit   ./davit unpack --rootless REF DIR         (verifies every diff_id)
#   umoci   umoci unpack --rootless --image LAYOUT:big BUNDLE   (also writes an mtree manifest of the rootfs)
#   tar     tar -xzf LAYER -C DIR, for each layer in order      (no whiteouts, no verification)
# Prints a Markdown table; paste it into docs/BENCHMARKS.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}"
. "$root/scripts/find-java.sh"
export JAVA_HOME="$DAVIT_JAVA_HOME"
command -v umoci >/dev/null || { echo "bench/unpack.sh: umoci is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
[ -f "$root/davit-cli/target/davit.jar" ] || (cd "$root" && mvn -q -B -ntp -DskipTests -Ddavit.it.skip=true package -pl davit-cli -am)
work="${BENCH_WORK:-$root/bench/work}"
mkdir -p "$work"
[ -d "$work/img300" ] || python3 "$root/bench/make-image.py" "$work/img300" big 6 300 1 >&2

# A davit store holding the image as bench.local/big:1: the layout's blobs plus an index.json entry.
home="$work/unpack-home"
rm -rf "$home"
mkdir -p "$home/store/blobs"
cp -r "$work/img300/blobs/sha256" "$home/store/blobs/"
cp "$work/img300/oci-layout" "$home/store/"
python3 - "$work/img300/index.json" "$home/store/index.json" <<'PY'
import json, sys
idx = json.load(open(sys.argv[1]))
for m in idx["manifests"]:
    m["annotations"] = {"org.opencontainers.image.ref.name": "bench.local/big:1"}
json.dump(idx, open(sys.argv[2], "w"))
PY
layers=$(python3 - "$work/img300" <<'PY'
import json, sys
lay = sys.argv[1]
d = json.load(open(lay + "/index.json"))["manifests"][0]["digest"].split(":")[1]
m = json.load(open(lay + "/blobs/sha256/" + d))
print(" ".join(lay + "/blobs/sha256/" + l["digest"].split(":")[1] for l in m["layers"]))
PY
)

out="$work/unpack-out"
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/u-davit.ms"; : > "$work/u-umoci.ms"; : > "$work/u-tar.ms"
"$root/davit" --version >/dev/null   # builds the AOT cache outside the timings
for i in $(seq "$rounds"); do
  rm -rf "$out"; mkdir -p "$out"; sync
  t0=$(now); DAVIT_HOME="$home" "$root/davit" unpack -q --rootless bench.local/big:1 "$out/davit" >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/u-davit.ms"
  rm -rf "$out"; mkdir -p "$out"; sync
  t0=$(now); umoci unpack --rootless --image "$work/img300:big" "$out/umoci" >/dev/null 2>&1; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/u-umoci.ms"
  rm -rf "$out"; mkdir -p "$out/tar"; sync
  t0=$(now); for l in $layers; do tar -xzf "$l" -C "$out/tar"; done; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/u-tar.ms"
done
# the trees must agree before the times mean anything
rm -rf "$out"; mkdir -p "$out"
DAVIT_HOME="$home" "$root/davit" unpack -q --rootless bench.local/big:1 "$out/davit" >/dev/null
umoci unpack --rootless --image "$work/img300:big" "$out/umoci" >/dev/null 2>&1
diff -r "$out/davit" "$out/umoci/rootfs" >/dev/null || { echo "bench/unpack.sh: davit and umoci trees differ" >&2; exit 1; }
rm -rf "$out"
d=$(median < "$work/u-davit.ms"); u=$(median < "$work/u-umoci.ms"); t=$(median < "$work/u-tar.ms")
size=$(du -sb "$work/img300/blobs" | cut -f1)
cat <<MD
Run on $(date -u +%Y-%m-%d), $(nproc) cores, $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), $(umoci --version), $(tar --version | head -1), rounds=$rounds, image $((size / 1000000)) MB in 6 gzip layers.

| measurement, median of $rounds (ms) | davit | umoci | tar -xzf | davit/umoci | davit/tar |
|---|---|---|---|---|---|
| unpack ~300 MB, whole process | $d | $u | $t | $(python3 -c "print(f'{$d/$u:.2f}')") | $(python3 -c "print(f'{$d/$t:.2f}')") |

All runs: davit $(paste -sd, "$work/u-davit.ms"); umoci $(paste -sd, "$work/u-umoci.ms"); tar $(paste -sd, "$work/u-tar.ms").
MD
