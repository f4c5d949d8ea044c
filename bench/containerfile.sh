#!/usr/bin/env bash
# Containerfile builds (issue 38): `davit build --file` against buildah 1.28 (Debian's; `bud --isolation chroot`,
# vfs storage, the only isolation that runs here) in the same rounds, on a small two-stage Containerfile (3 COPY,
# 2 RUN, a COPY --from) over the static busybox image of bench/busybox.sh in a loopback registry:
#   1. cold: a fresh davit home / fresh buildah storage each round, the base pulled from the registry, every step run
#   2. cached: the same build again at once (davit: its build cache, no sandbox made; buildah: --layers)
# buildah's RUN steps run on the host in chroot isolation under `unshare --net` (no network; the base is pulled
# first, with --pull=never for the build, and that pull is counted in its cold time). Medians of ROUNDS (default 5).
#   bench/containerfile.sh [ROUNDS]    (as root: buildah's chroot isolation)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds="${1:-5}"
work="${BENCH_WORK:-$root/bench/work}/containerfile"
. "$root/bench/busybox.sh"
davit="$root/davit"
command -v buildah >/dev/null || { echo "containerfile.sh: buildah is not installed (scripts/install-deps.sh)" >&2; exit 1; }
ctx="$work/ctx"; mkdir -p "$ctx/src"
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
conf="$work/buildah-conf"; mkdir -p "$conf"
echo '{"default": [{"type": "insecureAcceptAnything"}]}' > "$conf/policy.json"
printf 'unqualified-search-registries = []\n' > "$conf/registries.conf"
export CONTAINERS_REGISTRIES_CONF="$conf/registries.conf"
bah() { buildah --root "$work/buildah/root" --runroot "$work/buildah/run" --storage-driver vfs "$@"; }
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/davit.cold"; : > "$work/davit.cached"; : > "$work/buildah.cold"; : > "$work/buildah.cached"
for i in $(seq "$rounds"); do
  rm -rf "$DAVIT_HOME"
  t0=$(now); "$davit" build -q --file "$ctx/Containerfile" "$ctx" localhost/bench/cf:1 >/dev/null; t1=$(now)
  ms "$t0" "$t1" >> "$work/davit.cold"
  t0=$(now); "$davit" build -q --file "$ctx/Containerfile" "$ctx" localhost/bench/cf:1 >/dev/null; t1=$(now)
  ms "$t0" "$t1" >> "$work/davit.cached"
  rm -rf "$work/buildah"
  t0=$(now)
  bah pull -q --tls-verify=false --signature-policy "$conf/policy.json" "$ref" >/dev/null
  unshare --net bash -c "$(declare -f bah); work='$work'; bah bud -q --pull=never --isolation chroot --layers \
    --signature-policy '$conf/policy.json' -f '$ctx/Containerfile' -t localhost/bench/cf:1 '$ctx'" >/dev/null
  t1=$(now); ms "$t0" "$t1" >> "$work/buildah.cold"
  t0=$(now)
  unshare --net bash -c "$(declare -f bah); work='$work'; bah bud -q --pull=never --isolation chroot --layers \
    --signature-policy '$conf/policy.json' -f '$ctx/Containerfile' -t localhost/bench/cf:1 '$ctx'" >/dev/null
  t1=$(now); ms "$t0" "$t1" >> "$work/buildah.cached"
done
# both builds make what the Containerfile says
out=$("$davit" run -q localhost/bench/cf:1)
[ "$(echo "$out" | head -1)" = "line 1 of the sources" ] || { echo "containerfile.sh: davit's image is wrong: $out" >&2; exit 1; }
echo "| build (bench/containerfile.sh $rounds, $(date +%F)) | davit p50 | buildah 1.28 p50 |"
echo "|---|---|---|"
echo "| cold: two stages, base pulled, every step run | $(median < "$work/davit.cold") ms | $(median < "$work/buildah.cold") ms |"
echo "| cached: the same build again | $(median < "$work/davit.cached") ms | $(median < "$work/buildah.cached") ms |"
rm -rf "$work/buildah"
