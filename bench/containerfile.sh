#!/usr/bin/env bash
# Containerfile builds (issues 38 and 54): `davit build --file` against buildah 1.28 (Debian's; `bud --isolation
# chroot --layers`, the only isolation that runs here, on its overlay storage driver, its fastest here) and, with
# PREVIOUS=DIR (a checkout with its jar built: DIR/davit runs it), an earlier davit build, all in the same rounds:
#   small        a two-stage file (3 COPY, 2 RUN, a COPY --from) over the static busybox image of bench/busybox.sh
#   debian-run   a Debian bookworm minbase (mmdebstrap, made once into bench/work/debian-minbase) with 2 ENV, 4 RUN
#   debian-copy  the same base: WORKDIR, a COPY of 20 files into a directory it makes, 3 RUN, USER by name
# Both bases come from a loopback registry. cold: a fresh davit home / buildah storage each round, the base pulled
# (buildah's pull counted), every step run. cached: the same build again at once. buildah's RUN steps run on the
# host under `unshare --net` (no network). Medians of ROUNDS (default 3), whole processes (JVM start included).
#   bench/containerfile.sh [ROUNDS]     (as root: buildah's chroot isolation, mmdebstrap)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-3}"
base_work="${BENCH_WORK:-$root/bench/work}"
work="$base_work/containerfile"
. "$root/bench/busybox.sh"
command -v buildah >/dev/null || { echo "containerfile.sh: buildah is not installed (scripts/install-deps.sh)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "containerfile.sh: mmdebstrap is not installed (scripts/install-deps.sh)" >&2; exit 1; }
builds=(now="$root")
[ -z "${PREVIOUS:-}" ] || builds+=(previous="$(cd "$PREVIOUS" && pwd)")

# the Debian base, made once and kept (about 25 s and 65 MB from the Debian mirror)
deb="$base_work/debian-minbase"
if [ ! -x "$deb/bin/sh" ]; then
  rm -rf "$deb.tmp"
  mmdebstrap --quiet --variant=minbase bookworm "$deb.tmp" >&2
  mv "$deb.tmp" "$deb"
fi
debref="127.0.0.1:$port/bench/debian:12"
DAVIT_HOME="$work/push-home" "$root/davit" build -q "$deb" "$debref" --push >/dev/null
rm -rf "$work/push-home"

ctx="$work/ctx-small"; mkdir -p "$ctx/src"
for i in $(seq 1 50); do printf 'line %d of the sources\n' "$i" > "$ctx/src/f$i.txt"; done
echo "mode=bench" > "$ctx/app.conf"
cat > "$ctx/Containerfile" <<EOF
FROM $ref AS build
COPY src/ /src/
RUN busybox mkdir -p /out && for f in /src/*; do while read -r l; do echo "\$l"; done < "\$f" >> /out/all; done \\
    && echo built > /out/stamp
FROM $ref
COPY --from=build /out/ /app/
COPY app.conf /etc/app.conf
RUN echo configured >> /etc/app.conf
CMD ["busybox", "cat", "/app/all"]
EOF
ctx="$work/ctx-debian-run"; mkdir -p "$ctx"
cat > "$ctx/Containerfile" <<EOF
FROM $debref
ENV DEBIAN_FRONTEND=noninteractive
RUN mkdir -p /opt/a && echo a > /opt/a/x
RUN useradd -m builder
RUN echo b > /opt/a/y && ls /opt/a
ENV PATH=/opt/a:\$PATH
RUN echo c > /opt/a/z
CMD ["ls", "/opt/a"]
EOF
ctx="$work/ctx-debian-copy"; mkdir -p "$ctx/src"
for i in $(seq 1 20); do echo "file $i" > "$ctx/src/f$i.txt"; done
cat > "$ctx/Containerfile" <<EOF
FROM $debref
ENV APP=/app
RUN mkdir -p /opt/tools && echo one > /opt/tools/one
WORKDIR /app
COPY src/ /app/src/
RUN ls /app/src | wc -l > /app/count
RUN echo two > /opt/tools/two
USER nobody
RUN echo "\$HOME" > /tmp/home-of-nobody
CMD ["cat", "/app/count"]
EOF

conf="$work/buildah-conf"; mkdir -p "$conf"
echo '{"default": [{"type": "insecureAcceptAnything"}]}' > "$conf/policy.json"
printf 'unqualified-search-registries = []\n' > "$conf/registries.conf"
export CONTAINERS_REGISTRIES_CONF="$conf/registries.conf"
bah() { buildah --root "$work/buildah/root" --runroot "$work/buildah/run" --storage-driver overlay "$@"; }
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
bud() { # FILE BASE
  unshare --net bash -c "$(declare -f bah); work='$work'; bah bud -q --pull=never --isolation chroot --layers \
    --signature-policy '$conf/policy.json' -f '$work/ctx-$1/Containerfile' -t localhost/bench/cf:1 '$work/ctx-$1'" \
    >/dev/null
}
files=(small debian-run debian-copy)
rm -f "$work"/*.t
for r in $(seq "$rounds"); do
  for f in "${files[@]}"; do
    b=$ref; [ "$f" = small ] || b=$debref
    for nb in "${builds[@]}"; do
      n=${nb%%=*} d=${nb#*=}
      h="$work/home-$n"; rm -rf "$h"
      t0=$(now); DAVIT_HOME=$h "$d/davit" build -q --file "$work/ctx-$f/Containerfile" "$work/ctx-$f" \
        localhost/bench/cf:1 >/dev/null; t1=$(now)
      ms "$t0" "$t1" >> "$work/$f.$n.cold.t"
      t0=$(now); DAVIT_HOME=$h "$d/davit" build -q --file "$work/ctx-$f/Containerfile" "$work/ctx-$f" \
        localhost/bench/cf:1 >/dev/null; t1=$(now)
      ms "$t0" "$t1" >> "$work/$f.$n.cached.t"
    done
    rm -rf "$work/buildah"
    t0=$(now)
    bah pull -q --tls-verify=false --signature-policy "$conf/policy.json" "$b" >/dev/null
    bud "$f"
    t1=$(now); ms "$t0" "$t1" >> "$work/$f.buildah.cold.t"
    t0=$(now); bud "$f"; t1=$(now); ms "$t0" "$t1" >> "$work/$f.buildah.cached.t"
  done
done
# davit's images are what the Containerfiles say
out=$(DAVIT_HOME="$work/home-now" "$root/davit" run -q localhost/bench/cf:1)
[ "$out" = 20 ] || { echo "containerfile.sh: davit's image is wrong: $out" >&2; exit 1; }
head="| build (bench/containerfile.sh $rounds, $(date +%F)) | davit p50"
[ -z "${PREVIOUS:-}" ] || head="$head | previous davit p50"
echo "$head | buildah 1.28 (overlay) p50 |"
echo "|---|---|$([ -z "${PREVIOUS:-}" ] || echo -n '---|')---|"
for f in "${files[@]}"; do
  for k in cold cached; do
    row="| $f, $k | $(median < "$work/$f.now.$k.t") ms"
    [ -z "${PREVIOUS:-}" ] || row="$row | $(median < "$work/$f.previous.$k.t") ms"
    echo "$row | $(median < "$work/$f.buildah.$k.t") ms |"
  done
done
rm -rf "$work/buildah"
