#!/usr/bin/env python3
"""Writes the release's provenance: an in-toto Statement v1 whose predicate
is SLSA provenance v1 (https://slsa.dev/provenance/v1). It names each
file given by its sha256, the git commit built, the make targets, the
toolchain (rustc, cargo, the C compilers, the lock file's sha256) and
SOURCE_DATE_EPOCH. docs/release.md describes every field.

    provenance.py DIR NAME... > DIR/aws-oidc.intoto.json

Like the binaries it is reproducible: the only time in it is
SOURCE_DATE_EPOCH, and it holds no host name, user or path, so two builds
of one commit with one toolchain give the same bytes (`make reproducible`
checks it)."""

import datetime
import hashlib
import json
import os
import subprocess
import sys

# Where the fields of this build type are described.
BUILD_TYPE = "https://github.com/aws-oidc/aws-oidc/blob/main/docs/release.md#provenance"
# What `make release` runs: the targets it builds and the C compiler of each.
RUST_TARGETS = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl", "x86_64-pc-windows-gnu"]
C_COMPILERS = ["gcc", "clang", "x86_64-w64-mingw32-gcc"]


def fail(message):
    print(f"provenance.py: {message}", file=sys.stderr)
    sys.exit(1)


def run(*argv):
    try:
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        fail(f"`{' '.join(argv)}` failed ({e}); it is needed to describe the build")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def rfc3339(epoch):
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    if len(sys.argv) < 3:
        fail("usage: provenance.py DIR NAME... (the files of DIR it names)")
    folder, names = sys.argv[1], sys.argv[2:]
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not epoch.isdigit():
        fail(f"SOURCE_DATE_EPOCH is {epoch!r}; set it to the build's time in seconds (the Makefile does)")
    source = os.environ.get("SOURCE_URL") or fail("SOURCE_URL is not set; the Makefile sets it")
    version = os.environ.get("VERSION") or fail("VERSION is not set; the Makefile sets it")
    commit = run("git", "rev-parse", "HEAD")
    # Changes to tracked files would make the commit a lie: say so.
    dirty = run("git", "status", "--porcelain", "--untracked-files=no") != ""
    subjects = [{"name": n, "digest": {"sha256": sha256(os.path.join(folder, n))}} for n in names]
    rustc = dict(
        line.split(": ", 1) for line in run("rustc", "-vV").splitlines()[1:] if ": " in line)
    toolchain = {
        "rustc": run("rustc", "-V"),
        "cargo": run("cargo", "-V"),
        "host": rustc.get("host", ""),
        "llvm": rustc.get("LLVM version", ""),
    }
    for cc in C_COMPILERS:
        toolchain[cc] = run(cc, "--version").splitlines()[0]
    started = rfc3339(int(epoch))
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "source": {"uri": f"git+{source}", "digest": {"gitCommit": commit}},
                    "makeTargets": ["release"],
                    "version": version,
                    "SOURCE_DATE_EPOCH": epoch,
                },
                "internalParameters": {
                    "rustTargets": RUST_TARGETS,
                    "cargo": "cargo build --release --locked --bin aws-oidc"
                    + "".join(f" --target {t}" for t in RUST_TARGETS),
                    "toolchain": toolchain,
                    "sourceTreeModified": dirty,
                },
                "resolvedDependencies": [
                    {"uri": f"git+{source}@{commit}", "digest": {"gitCommit": commit}},
                    {"name": "Cargo.lock", "digest": {"sha256": sha256("Cargo.lock")}},
                    {"name": "rustc", "annotations": {"version": toolchain["rustc"]}},
                    {"name": "cargo", "annotations": {"version": toolchain["cargo"]}},
                ],
            },
            "runDetails": {
                "builder": {"id": f"{source}/blob/{commit}/Makefile#release"},
                "metadata": {
                    # Names the build, not the run, so a rebuild gives the same bytes.
                    "invocationId": f"{source}@{commit}#make-release-{epoch}",
                    "startedOn": started,
                    "finishedOn": started,
                },
            },
        },
    }
    json.dump(statement, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
