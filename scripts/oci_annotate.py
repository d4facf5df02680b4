#!/usr/bin/env python3
"""Puts OCI annotations on the image index of an OCI layout, which
Debian 12's buildah (1.28) cannot do (`buildah manifest annotate` has no
--index there), and checks that every image manifest the index names
carries the same annotations (image-buildah puts them there with
`buildah bud --annotation`).

    oci_annotate.py LAYOUT KEY=VALUE...

The layout's index.json names one image index; that index is rewritten
with the annotations, stored under its new digest, and index.json points
at it. The old index blob goes, so the layout holds only what it names."""

import hashlib
import json
import os
import sys


def fail(message):
    print(f"oci_annotate.py: {message}", file=sys.stderr)
    sys.exit(1)


def blob_path(layout, digest):
    algorithm, _, hex_digest = digest.partition(":")
    return os.path.join(layout, "blobs", algorithm, hex_digest)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main():
    if len(sys.argv) < 3 or not all("=" in a for a in sys.argv[2:]):
        fail("usage: oci_annotate.py LAYOUT KEY=VALUE...")
    layout = sys.argv[1]
    wanted = dict(a.split("=", 1) for a in sys.argv[2:])
    empty = [k for k, v in wanted.items() if not v]
    if empty:
        fail(f"no value for {', '.join(empty)} (is this a git checkout?)")
    top_path = os.path.join(layout, "index.json")
    top = read_json(top_path)
    if len(top.get("manifests", [])) != 1:
        fail(f"{top_path} names {len(top.get('manifests', []))} manifests, not one image index")
    entry = top["manifests"][0]
    if entry.get("mediaType") != "application/vnd.oci.image.index.v1+json":
        fail(f"{top_path} names a {entry.get('mediaType')}, not an image index")
    old = blob_path(layout, entry["digest"])
    index = read_json(old)
    for image in index["manifests"]:
        manifest = read_json(blob_path(layout, image["digest"]))
        missing = {k: v for k, v in wanted.items() if manifest.get("annotations", {}).get(k) != v}
        if missing:
            fail(f"the {image.get('platform', {}).get('architecture')} manifest lacks {missing}")
    index["annotations"] = {**index.get("annotations", {}), **wanted}
    data = json.dumps(index, separators=(",", ":"), sort_keys=True).encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob_path(layout, digest), "wb") as f:
        f.write(data)
    if blob_path(layout, digest) != old:
        os.remove(old)
    entry["digest"], entry["size"] = digest, len(data)
    with open(top_path, "w", encoding="utf-8") as f:
        json.dump(top, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
