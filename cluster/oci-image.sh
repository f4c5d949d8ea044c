#!/usr/bin/env bash
# Makes a one-layer OCI image layout from a directory, for the images scripts/cluster.sh pushes to its own registry
# (the pod sandbox's pause image and a busybox for tests), so the cluster pulls nothing from the internet.
#   cluster/oci-image.sh ROOTFS LAYOUT TAG ENTRYPOINT...
# ROOTFS is the image's filesystem; LAYOUT is made (replaced) as an OCI image layout holding it as LAYOUT:TAG. The
# layer is a reproducible tar (sorted, owned by root, time 0, gzip without a name or time), so the same ROOTFS gives the
# same digests on every machine.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 ROOTFS LAYOUT TAG ENTRYPOINT..." >&2; exit 2; }
rootfs="$1" layout="$2" tag="$3"; shift 3
rm -rf "$layout"
mkdir -p "$layout/blobs/sha256"
blobs="$layout/blobs/sha256"

# put FILE into the blob store; prints "DIGEST SIZE"
put() {
  local digest size
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$blobs/$digest"
  echo "$digest $size"
}

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$rootfs" -cf "$layout/layer.tar" .
diff_id=$(sha256sum "$layout/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$layout/layer.tar"
read -r layer layer_size < <(put "$layout/layer.tar.gz")

entrypoint=$(printf '%s\n' "$@" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().splitlines()))')
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin:/sbin:/usr/bin:/usr/sbin"],"Entrypoint":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
  "$entrypoint" "$diff_id" > "$layout/config.json"
read -r config config_size < <(put "$layout/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
  "$config" "$config_size" "$layer" "$layer_size" > "$layout/manifest.json"
read -r manifest manifest_size < <(put "$layout/manifest.json")

printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
  "$manifest" "$manifest_size" "$tag" > "$layout/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
