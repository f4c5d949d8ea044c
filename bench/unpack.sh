#!/usr/bin/env bash
# davit unpack against umoci unpack --rootless and plain tar, on the same images, same machine, same run.
#   bench/unpack.sh [ROUNDS]        (default 5)
# Images: bench/make-image.py's ~300 MB one (6 gzip layers, few large files) and one of 20,000 small files. They are
# put into a davit store directly (the store is an OCI layout), so no registry is involved. Timed, as whole
# processes, alternating in every round:
#   davit   ./davit unpack --rootless REF DIR         (verifies every diff_id)
#   umoci   umoci unpack --rootless --image LAYOUT:big BUNDLE   (also writes an mtree manifest of the rootfs)
#   tar     tar -xzf LAYER -C DIR, for each layer in order      (no whiteouts, no verification)
# Prints a Markdown table; paste it into docs/reference/BENCHMARKS.md (the latest run) or its page under docs/reference/benchmarks/.
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
# A second image of many small files (20,000 files of 0.5-4 KiB in 400 directories, 2,000 symlinks; one gzip
# layer), where per-file costs dominate instead of bytes.
[ -d "$work/imgsmall" ] || python3 - "$work/imgsmall" <<'PY'
import gzip, hashlib, io, json, os, random, sys, tarfile
out = sys.argv[1]
rnd = random.Random(7)
os.makedirs(out + "/blobs/sha256")
def put(b):
    d = hashlib.sha256(b).hexdigest()
    open(out + "/blobs/sha256/" + d, "wb").write(b)
    return "sha256:" + d
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
    for d in range(400):
        i = tarfile.TarInfo(f"usr/lib/pkg{d}"); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
        for f in range(50):
            data = (f"module {d}.{f}\n" * rnd.randint(30, 250)).encode()
            i = tarfile.TarInfo(f"usr/lib/pkg{d}/file{f}.js"); i.size = len(data); i.mode = 0o644
            t.addfile(i, io.BytesIO(data))
        for f in range(5):
            i = tarfile.TarInfo(f"usr/lib/pkg{d}/link{f}"); i.type = tarfile.SYMTYPE; i.linkname = f"file{f}.js"
            t.addfile(i)
r = raw.getvalue(); g = gzip.compress(r, compresslevel=6, mtime=0)
cfg = json.dumps({"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(r).hexdigest()]}}).encode()
m = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(cfg), "size": len(cfg)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": put(g),
                            "size": len(g)}]}).encode()
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": put(m), "size": len(m), "annotations": {"org.opencontainers.image.ref.name": "small"}}]},
          open(out + "/index.json", "w"))
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
print(f"{out}:small 1 layer, {len(g) / 1e6:.1f} MB compressed, {len(r) / 1e6:.1f} MB uncompressed", file=sys.stderr)
PY

# A davit store holding both images (bench.local/big:1, bench.local/small:1): the layouts' blobs plus index.json
# entries; the store is an OCI layout, so no registry is needed.
home="$work/unpack-home"
rm -rf "$home"
mkdir -p "$home/store/blobs/sha256"
cp "$work/img300/blobs/sha256/"* "$work/imgsmall/blobs/sha256/"* "$home/store/blobs/sha256/"
cp "$work/img300/oci-layout" "$home/store/"
python3 - "$home/store/index.json" "$work/img300" big "$work/imgsmall" small <<'PY'
import json, sys
entries = []
for lay, name in zip(sys.argv[2::2], sys.argv[3::2]):
    m = json.load(open(lay + "/index.json"))["manifests"][0]
    m["annotations"] = {"org.opencontainers.image.ref.name": f"bench.local/{name}:1"}
    entries.append(m)
json.dump({"schemaVersion": 2, "manifests": entries}, open(sys.argv[1], "w"))
PY

# Where the trees are written. Default: tmpfs (/dev/shm) when it has room, so the numbers are the tools' own costs;
# on this VM's ext4 (online discard) a file create right after a large delete can take ~0.7 ms instead of ~10 us,
# which makes disk numbers depend on what ran before. BENCH_OUT=DIR measures on a disk of your choice.
if [ -z "${BENCH_OUT:-}" ] && [ "$(df --output=avail -k /dev/shm 2>/dev/null | tail -1)" -gt 4000000 ] 2>/dev/null; then
  out=/dev/shm/davit-unpack-bench
else
  out="${BENCH_OUT:-$work/unpack-out}"
fi
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
layers_of() {
  python3 - "$1" <<'PY'
import json, sys
lay = sys.argv[1]
d = json.load(open(lay + "/index.json"))["manifests"][0]["digest"].split(":")[1]
m = json.load(open(lay + "/blobs/sha256/" + d))
print(" ".join(lay + "/blobs/sha256/" + l["digest"].split(":")[1] for l in m["layers"]))
PY
}
fresh() { sync; }
# drop RUN: deletes the trees of a round after it was timed (round 1 is kept for the comparison)
drop() { [ "$1" = 1 ] || rm -rf "$out/davit$1" "$out/umoci$1" "$out/tar$1"; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

# bench NAME LAYOUT TAG: alternates the three tools ROUNDS times; sets d, u, t to the medians
bench() {
  local name=$1 layout=$2 tag=$3 layers t0 t1 i
  layers=$(layers_of "$layout")
  : > "$work/u-$name-davit.ms"; : > "$work/u-$name-umoci.ms"; : > "$work/u-$name-tar.ms"
  rm -rf "$out"; mkdir -p "$out"
  for i in $(seq "$rounds"); do
    fresh; t0=$(now); DAVIT_HOME="$home" "$root/davit" unpack --rootless "bench.local/$name:1" "$out/davit$i" >/dev/null
    t1=$(now); ms "$t0" "$t1" >> "$work/u-$name-davit.ms"
    fresh; t0=$(now); umoci unpack --rootless --image "$layout:$tag" "$out/umoci$i" >/dev/null 2>&1
    t1=$(now); ms "$t0" "$t1" >> "$work/u-$name-umoci.ms"
    mkdir -p "$out/tar$i"; fresh; t0=$(now); for l in $layers; do tar -xzf "$l" -C "$out/tar$i"; done
    t1=$(now); ms "$t0" "$t1" >> "$work/u-$name-tar.ms"
    drop "$i"
  done
  # the trees must agree before the times mean anything
  diff -r --no-dereference "$out/davit1" "$out/umoci1/rootfs" >/dev/null \
    || { echo "bench/unpack.sh: davit and umoci trees of $name differ" >&2; exit 1; }
  diff -r --no-dereference "$out/davit1" "$out/tar1" >/dev/null \
    || { echo "bench/unpack.sh: davit and tar trees of $name differ" >&2; exit 1; }
  rm -rf "$out"; sync
  d=$(median < "$work/u-$name-davit.ms"); u=$(median < "$work/u-$name-umoci.ms"); t=$(median < "$work/u-$name-tar.ms")
}
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

"$root/davit" --version >/dev/null   # builds the AOT cache outside the timings
bench big "$work/img300" big; bd=$d; bu=$u; bt=$t
bench small "$work/imgsmall" small; sd=$d; su=$u; st=$t
size=$(du -sb "$work/img300/blobs" | cut -f1)
cat <<MD
Run on $(date -u +%Y-%m-%d), $(nproc) cores, $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), $(umoci --version), $(tar --version | head -1), rounds=$rounds, trees written to $(stat -f -c %T "$(dirname "$out")").

| unpack, whole process, median of $rounds (ms) | davit | umoci | tar -xzf | davit/umoci | davit/tar |
|---|---|---|---|---|---|
| ~300 MB image ($((size / 1000000)) MB, 6 gzip layers, 24 files) | $bd | $bu | $bt | $(ratio "$bd" "$bu") | $(ratio "$bd" "$bt") |
| small files (1 layer: 20,000 files, 400 dirs, 2,000 symlinks) | $sd | $su | $st | $(ratio "$sd" "$su") | $(ratio "$sd" "$st") |

All runs (ms): big: davit $(paste -sd, "$work/u-big-davit.ms"); umoci $(paste -sd, "$work/u-big-umoci.ms"); tar $(paste -sd, "$work/u-big-tar.ms").
small: davit $(paste -sd, "$work/u-small-davit.ms"); umoci $(paste -sd, "$work/u-small-umoci.ms"); tar $(paste -sd, "$work/u-small-tar.ms").
MD
