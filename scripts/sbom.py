#!/usr/bin/env python3
"""Writes a CycloneDX 1.5 JSON SBOM of the crates linked into the shipped
binary, from `cargo metadata` (which reads Cargo.lock): the normal
dependency graph of the aws-oidc package for one target, without dev- or
build-only crates. Usage: sbom.py TARGET_TRIPLE > dist/aws-oidc.cdx.json"""

import json
import subprocess
import sys
import uuid


def main():
    target = sys.argv[1]
    meta = json.loads(subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", target]))
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    with open("Cargo.lock", encoding="utf-8") as f:
        lock = f.read()
    checksums = {}
    for block in lock.split("[[package]]"):
        fields = dict(
            (k.strip(), v.strip().strip('"'))
            for k, _, v in (line.partition("=") for line in block.splitlines()) if _)
        if "checksum" in fields:
            checksums[(fields["name"], fields["version"])] = fields["checksum"]

    # Walk only normal (runtime) edges from the root package.
    linked, todo = set(), [root]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in linked:
                linked.add(dep["pkg"])
                todo.append(dep["pkg"])

    def ref(pkg):
        return f"pkg:cargo/{pkg['name']}@{pkg['version']}"

    components = []
    for pid in sorted(linked, key=lambda i: (packages[i]["name"], packages[i]["version"])):
        p = packages[pid]
        c = {"type": "library", "bom-ref": ref(p), "name": p["name"], "version": p["version"], "purl": ref(p)}
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"]}]
        digest = checksums.get((p["name"], p["version"]))
        if digest:
            c["hashes"] = [{"alg": "SHA-256", "content": digest}]
        components.append(c)
    me = packages[root]
    deps = [{"ref": ref(packages[i]), "dependsOn": sorted(
        ref(packages[d["pkg"]]) for d in nodes[i]["deps"]
        if any(k["kind"] is None for k in d["dep_kinds"]))} for i in [root, *sorted(linked)]]
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        # Derived from the lock file so that the same commit gives the same SBOM.
        "serialNumber": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, lock + target)),
        "version": 1,
        "metadata": {
            "component": {"type": "application", "bom-ref": ref(me), "name": me["name"],
                          "version": me["version"], "purl": ref(me),
                          "licenses": [{"expression": me["license"]}]},
            "properties": [{"name": "target", "value": target}],
        },
        "components": components,
        "dependencies": deps,
    }
    json.dump(bom, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
