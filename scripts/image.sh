#!/usr/bin/env bash
# Builds davit's container image (the MCP server and the CLI, for a cluster: deploy/kubernetes/davit.yaml) with davit
# itself, from the release of scripts/dist.sh on Debian's minbase:
#   bash scripts/image.sh REF [--push] [--skip-dist]
# REF names the image in the image build's own home (target/image/home); --push pushes it to REF as well (a loopback
# registry over plain HTTP, another over HTTPS). The last line printed is REF@DIGEST. --skip-dist uses the release target/dist/ holds. The base
# (`davit env build base`: bash and coreutils from the Debian mirror, by mmdebstrap) is built once per home.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ref= push= dist=yes
for a in "$@"; do
  case "$a" in
    --push) push=--push ;;
    --skip-dist) dist= ;;
    -*) echo "image: unknown option '$a' (usage: bash scripts/image.sh REF [--push] [--skip-dist])" >&2; exit 2 ;;
    *) [ -z "$ref" ] || { echo "image: one REF, not '$ref' and '$a'" >&2; exit 2; }; ref=$a ;;
  esac
done
[ -n "$ref" ] || { echo "image: give the image's name (usage: bash scripts/image.sh REF [--push] [--skip-dist])" >&2; exit 2; }
[ -z "$dist" ] || bash "$root/scripts/dist.sh" --no-deb >&2
tarball=$(ls "$root"/target/dist/davit-*-linux-x86_64.tar.gz 2>/dev/null | head -1 || true)
[ -n "$tarball" ] || { echo "image: no release in target/dist/: run without --skip-dist" >&2; exit 1; }
work="$root/target/image"
rm -rf "$work/context"
mkdir -p "$work/context/home"
tar -xzf "$tarball" -C "$work/context"
mv "$work/context"/davit-*-linux-x86_64 "$work/context/davit"
# a static busybox: the k8s backend puts it beside its agent in every pod (the host's, from Debian's busybox-static)
bb=$(command -v busybox || true)
if [ -z "$bb" ] || ! { ldd "$bb" 2>&1 || true; } | grep -q 'not a dynamic executable'; then
  echo "image: no static busybox on the PATH; install the busybox-static package (scripts/install-deps.sh does)" >&2
  exit 1
fi
cp "$bb" "$work/context/busybox"
davit="$work/context/davit/bin/davit"
export DAVIT_HOME="$work/home"
base=localhost/davit-image-base:bookworm
if ! "$davit" inspect "$base" >/dev/null 2>&1; then
  echo "image: building the base (Debian minbase with bash and coreutils)" >&2
  "$davit" env build base --no-vm --tag "$base" >&2
fi
echo "image: building $ref" >&2
built=$("$davit" build -q -f "$root/deploy/Containerfile" --build-arg "BASE=$base" "$work/context" "$ref")
digest=$(grep -o '@sha256:[0-9a-f]*' <<<"$built" | head -1 || true)
[ -n "$digest" ] || { echo "image: davit build said no digest: $built" >&2; exit 1; }
if [ -n "$push" ]; then
  "$davit" push -q "$ref" >&2
fi
# the image by digest (a manifest is pushed byte for byte: the same digest in the registry), so a cluster runs this
# build, never a node's older image of the same tag
echo "${ref%%@*}$digest"
