#!/usr/bin/env bash
# What the disk limit costs a one-shot run and a long-lived sandbox's create (as root): whole-process
# `davit run IMAGE -- true` with the default --disk (a tmpfs mounted and unmounted around the run) against
# --disk 0 (none), alternating, and `davit sandbox create --no-start` with and without it (the ext4 image: a sparse
# file, mkfs.ext4, a loop mount).
#   bench/disk.sh [ROUNDS]    (default 21)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-21}"
work="${BENCH_WORK:-$root/bench/work}/disk"
. "$root/bench/busybox.sh"
"$root/davit" run -q "$ref" -- true >/dev/null   # pull + unpack once
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/with.ms"; : > "$work/without.ms"; : > "$work/create-with.ms"; : > "$work/create-without.ms"
for i in $(seq "$rounds"); do
  t0=$(now); "$root/davit" run -q "$ref" -- true >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/with.ms"
  t0=$(now); "$root/davit" run -q --disk 0 "$ref" -- true >/dev/null; t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/without.ms"
done
for i in $(seq 5); do
  t0=$(now); id=$("$root/davit" sandbox create -q --no-start "$ref"); t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/create-with.ms"; "$root/davit" sandbox rm -q "$id" >/dev/null
  t0=$(now); id=$("$root/davit" sandbox create -q --no-start --disk 0 "$ref"); t1=$(now)
  echo $(( (t1 - t0) / 1000000 )) >> "$work/create-without.ms"; "$root/davit" sandbox rm -q "$id" >/dev/null
done
echo "| measurement, whole process (ms) | --disk 10240 (default) | --disk 0 |"
echo "|---|---|---|"
echo "| \`davit run IMAGE -- true\`, median of $rounds | $(median < "$work/with.ms") | $(median < "$work/without.ms") |"
echo "| \`davit sandbox create --no-start IMAGE\`, median of 5 | $(median < "$work/create-with.ms") | $(median < "$work/create-without.ms") |"
