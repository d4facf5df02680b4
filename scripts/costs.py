#!/usr/bin/env python3
"""What each change cost in bytes: the amd64 release binary before and after.

`make bench` runs this first. Each row of scripts/costs.tsv names a commit
on main (the merge of one piece of work) and what it brought; the cost is
the size of the amd64 musl release binary at that commit minus the size at
its first parent, each built as `make release` at that commit built it:
the link flags (AMD64_LINK) come from that commit's own Makefile, so a
change of flags is costed at the commit that made it; the Makefile running
this passes the path remapping in COSTS_RUSTFLAGS and the build environment.
Sizes are cached by commit in target/costs-cache.json, so only new rows are
built. Prints the table, writes target/costs.json and rewrites
docs/measured.md's block between the costs markers.

`costs.py --measured [COSTS_JSON]` only renders that block and prints it.
"""
import json, os, subprocess, sys, tempfile

import measured_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AMD64 = "x86_64-unknown-linux-musl"
TSV = os.path.join(ROOT, "scripts", "costs.tsv")
CACHE = os.path.join(ROOT, "target", "costs-cache.json")
OUT = os.path.join(ROOT, "target", "costs.json")
BEGIN = "<!-- costs:begin (written by make bench from target/costs.json; do not edit) -->"
END = "<!-- costs:end -->"


class CostsError(Exception):
    """Something could not be built or read."""


def git(*args):
    return subprocess.run(["git", "-C", ROOT, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def rows():
    """(commit, what) from scripts/costs.tsv, full hashes."""
    out = []
    with open(TSV) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            commit, what = line.split("\t", 1)
            out.append((git("rev-parse", "--verify", commit + "^{commit}"), what))
    return out


def build(commit, tmp):
    """The amd64 release binary's size at `commit`, built in a throwaway
    worktree with the release flags, its path remapped like the release's."""
    tree = os.path.join(tmp, commit[:12])
    git("worktree", "add", "--detach", "--force", tree, commit)
    try:
        env = dict(os.environ)
        flags = env.get("COSTS_RUSTFLAGS")
        if not flags:
            raise CostsError("COSTS_RUSTFLAGS is not set; run this through `make bench`")
        flags = f"{flags} {link_flags(tree)} --remap-path-prefix={tree}=/build"
        env["CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS"] = flags
        env["CARGO_TARGET_DIR"] = os.path.join(ROOT, "target", "costs-build")
        env.pop("RUSTFLAGS", None)
        print(f"costs: building {commit[:12]} ...", flush=True)
        subprocess.run(["cargo", "build", "--release", "--locked", "--target", AMD64, "--bin", "aws-oidc"],
                       cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return os.path.getsize(os.path.join(env["CARGO_TARGET_DIR"], AMD64, "release", "aws-oidc"))
    except subprocess.CalledProcessError as e:
        raise CostsError(f"building {commit[:12]} failed: {e.stderr.decode(errors='replace')[-800:]}")
    finally:
        git("worktree", "remove", "--force", tree)


def link_flags(tree):
    """AMD64_LINK as the Makefile in `tree` defines it (make's database,
    printed without running any recipe: -n -q -p)."""
    db = subprocess.run(["make", "-npq", "-f", "Makefile"], cwd=tree, capture_output=True,
                        text=True).stdout
    for line in db.splitlines():
        if line.startswith("AMD64_LINK := "):
            return line[len("AMD64_LINK := "):]
    raise CostsError(f"no AMD64_LINK in the Makefile at {tree}")


def measure():
    cache = {}
    if os.path.exists(CACHE):
        with open(CACHE) as f:
            cache = json.load(f)
    table = []
    with tempfile.TemporaryDirectory(prefix="aws-oidc-costs-") as tmp:
        for commit, what in rows():
            parent = git("rev-parse", commit + "^1")
            for c in (parent, commit):
                if c not in cache:
                    cache[c] = build(c, tmp)
                    with open(CACHE, "w") as f:
                        json.dump(cache, f, indent=1)
            table.append({"commit": commit, "what": what, "before": cache[parent],
                          "after": cache[commit], "bytes": cache[commit] - cache[parent]})
    return table


def render(table):
    lines = [BEGIN, "| change | commit | amd64 bytes | after |", "|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['what']} | `{r['commit'][:9]}` | {r['bytes']:+,} | {r['after']:,} B |")
    total = sum(r["bytes"] for r in table)
    lines += [f"| in all | | {total:+,} | |", END]
    return "\n".join(lines) + "\n"


def write_measured(block):
    measured_block.replace(BEGIN, END, block, CostsError)


def main():
    table = measure()
    print("\nwhat each change cost (amd64 release binary, bytes):")
    for r in table:
        print(f"  {r['bytes']:+8,}  {r['after']:>10,} B  {r['commit'][:9]}  {r['what']}")
    with open(OUT, "w") as f:
        json.dump(table, f, indent=1)
    write_measured(render(table))
    print("docs/measured.md: the cost table now holds these figures (target/costs.json)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measured"]:
        with open(sys.argv[2] if len(sys.argv) > 2 else OUT) as f:
            sys.stdout.write(render(json.load(f)))
        sys.exit(0)
    try:
        main()
    except (CostsError, OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"costs: could not run: {e}")
