#!/usr/bin/env bash
# Several builds of davit, alternating in every round, on the two hot paths of issue 51: a cached
# `davit run IMAGE -- true` (the static busybox image of bench/busybox.sh) and a cold `davit pull` of a ~120 MiB,
# 6-layer gzip image (make-image.py), with skopeo's copy of the same image as the peer; then the classes each build's
# cached run loads (-Xlog:class+load). Medians of CPU (user + system of the process tree, GNU time), wall and max RSS.
#   bench/builds.sh NAME=DIR [NAME=DIR ...]      (each DIR a checkout with its jar built: DIR/davit runs it)
#   e.g. bench/builds.sh early=/work/early base=/work/base main=.     ROUNDS (run, default 15), PULLS (default 7)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${BENCH_WORK:-$root/bench/work}/builds"
[ $# -gt 0 ] || { echo "usage: bench/builds.sh NAME=DIR [NAME=DIR ...]" >&2; exit 2; }
names=(); dirs=()
for a in "$@"; do names+=("${a%%=*}"); dirs+=("$(cd "${a#*=}" && pwd)"); done
. "$root/bench/busybox.sh"     # a registry and the busybox image: $ref, $port
for i in "${!names[@]}"; do
  h="$work/home-${names[$i]}"
  DAVIT_HOME=$h "${dirs[$i]}/davit" pull -q "$ref" >/dev/null
  DAVIT_HOME=$h "${dirs[$i]}/davit" run -q "$ref" -- true >/dev/null   # unpack, and train the AOT cache
  DAVIT_HOME=$h "${dirs[$i]}/davit" run -q "$ref" -- true >/dev/null
done
: > "$work/run.t"
for r in $(seq "${ROUNDS:-15}"); do
  for i in "${!names[@]}"; do
    /usr/bin/time -f "${names[$i]} %e %U %S %M" -a -o "$work/run.t" env DAVIT_HOME="$work/home-${names[$i]}" \
      "${dirs[$i]}/davit" run -q "$ref" -- true >/dev/null
  done
done
for i in "${!names[@]}"; do
  DAVIT_HOME="$work/home-${names[$i]}" DAVIT_JAVA_OPTS="-Xlog:class+load=info:file=$work/classes-${names[$i]}.txt" \
    "${dirs[$i]}/davit" run -q "$ref" -- true >/dev/null
  echo "classes loaded by a cached run, ${names[$i]}: $(wc -l < "$work/classes-${names[$i]}.txt")"
done
python3 "$root/bench/make-image.py" "$work/img" cold 6 133 3 >&2
skopeo copy -q --dest-tls-verify=false "oci:$work/img:cold" "docker://127.0.0.1:$port/bench/cold:1"
: > "$work/pull.t"
for r in $(seq "${PULLS:-7}"); do
  for i in "${!names[@]}"; do
    rm -rf "$work/pull-${names[$i]}"
    /usr/bin/time -f "${names[$i]} %e %U %S %M" -a -o "$work/pull.t" env DAVIT_HOME="$work/pull-${names[$i]}" \
      "${dirs[$i]}/davit" pull -q "127.0.0.1:$port/bench/cold:1" >/dev/null
  done
  rm -rf "$work/skopeo-out"
  /usr/bin/time -f "skopeo %e %U %S %M" -a -o "$work/pull.t" skopeo copy -q --src-tls-verify=false \
    "docker://127.0.0.1:$port/bench/cold:1" "oci:$work/skopeo-out:cold" >/dev/null
done
python3 - "$work/run.t" "$work/pull.t" <<'PY'
import sys, statistics as st
for f, what in zip(sys.argv[1:], ["cached run IMAGE -- true", "cold pull, ~120 MiB"]):
    rows = {}
    for l in open(f):
        n, e, u, s, m = l.split()
        rows.setdefault(n, []).append((float(e), float(u) + float(s), int(m)))
    print(f"{what}:")
    for n, v in rows.items():
        print(f"  {n}: CPU {st.median(x[1] for x in v):.2f} s, wall {st.median(x[0] for x in v):.2f} s,"
              f" max RSS {st.median(x[2] for x in v) / 1024:.0f} MB ({len(v)} rounds)")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
