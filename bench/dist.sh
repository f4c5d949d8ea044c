#!/usr/bin/env bash
# The release (issue 22): its size, and the start-up of the installed package beside ./davit from source, measured
# in the same run (whole processes, medians):
#   1. the tarball's and the .deb's sizes (goal: tarball <= 60 MB)
#   2. `davit --version`: the first call after unpacking, then the median of ROUNDS (goal <= 50 ms)
#   3. `davit run IMAGE -- true` (bwrap, image pulled and unpacked before): the first call after unpacking, then the
#      median of ROUNDS (goal <= 120 ms on the first call)
# ./davit's rows use its trained AOT cache (its first call ever trains it, ~10 s, not timed here).
# BENCH_BASE=OTHER/davit adds another build's ./davit (e.g. a checkout of the previous main), timed in the same rounds.
#   [BENCH_BASE=...] bench/dist.sh [ROUNDS]   (default 11; builds the release with scripts/dist.sh unless BENCH_NO_BUILD=1)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-11}"
work="${BENCH_WORK:-$root/bench/work}/dist"
[ -n "${BENCH_NO_BUILD:-}" ] || bash "$root/scripts/dist.sh" --no-deb >&2
tarball=$(ls "$root"/target/dist/davit-*-linux-x86_64.tar.gz)
deb=$(ls "$root"/target/dist/davit_*_amd64.deb 2>/dev/null || true)
. "$root/bench/busybox.sh"
src="$root/davit"
"$src" pull -q "$ref" >/dev/null
"$src" run -q "$ref" -- true >/dev/null   # unpack once (and train ./davit's AOT cache if its jar is new)
base="${BENCH_BASE:-}"
if [ -n "$base" ]; then
  "$base" --version >/dev/null
  "$base" run -q "$ref" -- true >/dev/null   # its AOT cache trained
fi
rm -rf "$work/inst"; mkdir -p "$work/inst"
tar -xzf "$tarball" -C "$work/inst"
# dpkg syncs what it installs, tar does not: without this the first command's first fsync would also write back the
# ~150 MB just unpacked (~200 ms here)
sync
rel=$(ls -d "$work"/inst/davit-*/)bin/davit

now() { date +%s%N; }
ms() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); echo $(( (t1 - t0) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
first_version=$(ms "$rel" --version)
first_run=$(ms "$rel" run -q "$ref" --runtime bwrap -- true)
: > "$work/rel-version.ms"; : > "$work/src-version.ms"; : > "$work/rel-run.ms"; : > "$work/src-run.ms"
: > "$work/base-version.ms"; : > "$work/base-run.ms"
for _ in $(seq "$rounds"); do
  ms "$rel" --version >> "$work/rel-version.ms"
  ms "$src" --version >> "$work/src-version.ms"
  ms "$rel" run -q "$ref" --runtime bwrap -- true >> "$work/rel-run.ms"
  ms "$src" run -q "$ref" --runtime bwrap -- true >> "$work/src-run.ms"
  if [ -n "$base" ]; then
    ms "$base" --version >> "$work/base-version.ms"
    ms "$base" run -q "$ref" --runtime bwrap -- true >> "$work/base-run.ms"
  fi
done
bmed() { [ -s "$1" ] && echo "$(median < "$1") ms" || echo -; }
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.1f MB", b / 1e6}'; }
echo "| measure | release (installed) | ./davit (source, trained cache) | base ./davit |"
echo "|---|---|---|---|"
echo "| tarball size | $(mb "$tarball") | - | - |"
[ -z "$deb" ] || echo "| .deb size | $(mb "$deb") | - | - |"
echo "| \`davit --version\`, first call after unpacking | $first_version ms | - | - |"
echo "| \`davit --version\`, median of $rounds | $(median < "$work/rel-version.ms") ms | $(median < "$work/src-version.ms") ms | $(bmed "$work/base-version.ms") |"
echo "| \`davit run IMAGE -- true\` (bwrap), first call after unpacking | $first_run ms | - | - |"
echo "| \`davit run IMAGE -- true\` (bwrap), median of $rounds | $(median < "$work/rel-run.ms") ms | $(median < "$work/src-run.ms") ms | $(bmed "$work/base-run.ms") |"
echo
echo "Samples (ms): release --version $(tr '\n' ' ' < "$work/rel-version.ms"); ./davit --version $(tr '\n' ' ' < "$work/src-version.ms");"
echo "release run $(tr '\n' ' ' < "$work/rel-run.ms"); ./davit run $(tr '\n' ' ' < "$work/src-run.ms")"
[ -z "$base" ] || echo "base --version $(tr '\n' ' ' < "$work/base-version.ms"); base run $(tr '\n' ' ' < "$work/base-run.ms")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
