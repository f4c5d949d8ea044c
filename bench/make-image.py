#!/usr/bin/env python3
"""Writes an OCI image layout with LAYERS gzip layers of about SIZE_MB/LAYERS MB (uncompressed) each.

Usage: make-image.py DIR TAG LAYERS TOTAL_MB [SEED]
Layer content is 90% random bytes and 10% repetitive text, so gzip has real work and the compressed size (what
a pull transfers) is close to TOTAL_MB.
"""
import gzip, hashlib, io, json, os, random, sys, tarfile

def main():
    out, tag, layers, total_mb = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    rnd = random.Random(seed)
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')

    def put(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(data)
        return "sha256:" + d

    per_layer = total_mb * 1024 * 1024 // layers
    layer_descs, diff_ids = [], []
    text = (b"davit benchmark line of fairly repetitive text 0123456789\n" * 1024)
    for i in range(layers):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for j in range(4):
                size = per_layer // 4
                half = size * 9 // 10
                payload = rnd.randbytes(half) + (text * (size // len(text) + 1))[: size - half]
                info = tarfile.TarInfo(f"layer{i}/file{j}.bin")
                info.size = len(payload)
                info.mtime = 0
                tar.addfile(info, io.BytesIO(payload))
        raw_bytes = raw.getvalue()
        diff_ids.append("sha256:" + hashlib.sha256(raw_bytes).hexdigest())
        gz = gzip.compress(raw_bytes, compresslevel=1, mtime=0)
        layer_descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "digest": put(gz), "size": len(gz)})
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": put(config), "size": len(config)},
                           "layers": layer_descs}).encode()
    md = put(manifest)
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                 "digest": md, "size": len(manifest),
                                                 "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)
    total = sum(d["size"] for d in layer_descs)
    print(f"{out}:{tag} {layers} layers, {total / 1e6:.1f} MB compressed, manifest {md}")

main()
