#!/usr/bin/python3
"""Add N small images to a petra store (an OCI layout): each is a base
image's layers plus one tiny layer of its own (a tar with one file), with
its config and manifest, named NAME-i:1. Written straight into the layout
(blobs, then index.json once) because importing a thousand images one by
one would measure the importer, not the query; `petra fsck` checks the
result.

  make-store.py STORE BASE_MANIFEST_DIGEST NAME N
"""
import hashlib
import io
import json
import os
import sys
import tarfile

store, base_digest, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
blobs = os.path.join(store, "blobs", "sha256")


def read_blob(digest):
    with open(os.path.join(blobs, digest.split(":", 1)[1]), "rb") as f:
        return f.read()


def put_blob(data):
    hexd = hashlib.sha256(data).hexdigest()
    path = os.path.join(blobs, hexd)
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)
    return "sha256:" + hexd


base_manifest = json.loads(read_blob(base_digest))
base_config = json.loads(read_blob(base_manifest["config"]["digest"]))
entries = []
for i in range(count):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        content = ("%s %d\n" % (name, i)).encode()
        info = tarfile.TarInfo("app/%s-%d" % (name, i))
        info.size = len(content)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    layer = buf.getvalue()
    layer_digest = put_blob(layer)
    config = json.loads(json.dumps(base_config))
    config["rootfs"]["diff_ids"].append(layer_digest)
    config.setdefault("history", []).append({"created_by": "COPY app /app # %d" % i})
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": put_blob(config_bytes),
            "size": len(config_bytes),
        },
        "layers": base_manifest["layers"]
        + [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer_digest,
                "size": len(layer),
            }
        ],
    }
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
    entries.append(
        {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": put_blob(manifest_bytes),
            "size": len(manifest_bytes),
            "annotations": {"org.opencontainers.image.ref.name": "%s-%d:1" % (name, i)},
        }
    )

index_path = os.path.join(store, "index.json")
with open(index_path) as f:
    index = json.load(f)
index["manifests"].extend(entries)
with open(index_path + ".tmp", "w") as f:
    json.dump(index, f, separators=(",", ":"))
os.rename(index_path + ".tmp", index_path)
