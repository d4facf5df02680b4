#!/bin/sh
# Checks a release folder as an air-gapped mirror receives it, with no
# network:
#
#   scripts/verify-release.sh DIST PUBKEY
#
#   1. DIST/SHA256SUMS.minisig is a signature of DIST/SHA256SUMS by the
#      minisign public key file PUBKEY (release/minisign.pub);
#   2. every file SHA256SUMS names has that sha256, and it names every
#      file of a release: the binaries, their SBOMs, the provenance and the
#      image archive;
#   3. the provenance (aws-oidc.intoto.json, an in-toto Statement with a
#      SLSA provenance v1 predicate) names as subjects exactly those
#      binaries and SBOMs, with the same sha256;
#   4. the image archive (aws-oidc-image.oci.tar) is an OCI layout whose
#      index names a linux/amd64 and a linux/arm64 image, every blob it
#      names has its digest, each image's one layer holds only /aws-oidc,
#      and that file is the aws-oidc-linux-ARCH whose sha256 SHA256SUMS
#      gives; the index's revision annotation is the provenance's commit.
#
# It stops at the first file that fails, names it on stderr and exits 1
# (2 for a usage or missing-tool error). Needs only POSIX sh, coreutils
# (sha256sum, mktemp), tar with gzip, minisign and python3; python3 (its
# standard library) only reads the JSON files, because neither sh nor
# coreutils can parse JSON safely and jq is not on every mirror either.
set -eu

me=verify-release
usage() {
	echo "usage: $0 DIST PUBKEY (the release folder and the minisign public key file, e.g. release/minisign.pub)" >&2
	exit 2
}
fail() {
	echo "$me: FAIL: $1: $2" >&2
	exit 1
}
[ $# -eq 2 ] || usage
dist=$1
pub=$2
for tool in sha256sum tar gzip mktemp minisign python3; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "$me: needs $tool; install it (Debian: coreutils tar gzip minisign python3)" >&2
		exit 2
	}
done
[ -d "$dist" ] || { echo "$me: $dist is not a folder" >&2; exit 2; }
[ -f "$pub" ] || { echo "$me: $pub: no such public key file" >&2; exit 2; }

binaries="aws-oidc-linux-amd64 aws-oidc-linux-arm64 aws-oidc-windows-amd64.exe"
sboms="aws-oidc-linux-amd64.cdx.json aws-oidc-linux-arm64.cdx.json aws-oidc-windows-amd64.cdx.json"
provenance=aws-oidc.intoto.json
archive=aws-oidc-image.oci.tar

work=$(mktemp -d "${TMPDIR:-/tmp}/aws-oidc-verify-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The sha256 of a file, read from stdin so no name is ever parsed.
sha256_of() {
	sha256sum <"$1" | cut -d' ' -f1
}

# 1. The signature. -Q prints only the trusted comment, which is signed too.
[ -f "$dist/SHA256SUMS" ] || fail SHA256SUMS "missing from $dist"
[ -f "$dist/SHA256SUMS.minisig" ] || fail SHA256SUMS.minisig "missing from $dist: the sums are not signed"
if ! comment=$(minisign -V -Q -p "$pub" -m "$dist/SHA256SUMS" -x "$dist/SHA256SUMS.minisig" 2>"$work/minisign"); then
	fail SHA256SUMS "its signature SHA256SUMS.minisig does not verify with $pub: $(tr '\n' ' ' <"$work/minisign")"
fi
echo "$me: ok: SHA256SUMS is signed by $pub ($comment)"

# 2. Every sum, one line `SHA256  NAME` each (sha256sum's text mode), and a
# plain file name: nothing outside DIST is ever read.
: >"$work/names"
n=0
while IFS= read -r line || [ -n "$line" ]; do
	n=$((n + 1))
	sum=${line%%  *}
	name=${line#*  }
	case $sum in *[!0-9a-f]* | "") fail SHA256SUMS "line $n is not \`SHA256  NAME\`: $line" ;; esac
	[ ${#sum} -eq 64 ] || fail SHA256SUMS "line $n is not \`SHA256  NAME\`: $line"
	case $name in "" | */* | . | .. | -*) fail SHA256SUMS "line $n names \`$name\`, not a file of the release" ;; esac
	grep -qxF "$name" "$work/names" && fail SHA256SUMS "names $name twice"
	[ -f "$dist/$name" ] || fail "$name" "listed in SHA256SUMS but missing from $dist"
	[ "$(sha256_of "$dist/$name")" = "$sum" ] || fail "$name" "its sha256 is not the one SHA256SUMS gives"
	printf '%s\n' "$name" >>"$work/names"
	printf '%s %s\n' "$name" "$sum" >>"$work/sums"
done <"$dist/SHA256SUMS"
for name in $binaries $sboms $provenance $archive; do
	grep -qxF "$name" "$work/names" || fail "$name" "not in SHA256SUMS: a release lists every file it ships"
done
echo "$me: ok: all $n files have the sha256 SHA256SUMS gives"

# The sum SHA256SUMS gives for a name (listed: checked above).
sum_of() {
	while read -r name sum; do
		[ "$name" = "$1" ] && { echo "$sum"; return; }
	done <"$work/sums"
}

# 3. The provenance's subjects are exactly the binaries and SBOMs.
python3 - "$dist/$provenance" >"$work/subjects" 2>"$work/python" <<'EOF' ||
import json, re, sys
with open(sys.argv[1], encoding="utf-8") as f:
    s = json.load(f)
if s.get("_type") != "https://in-toto.io/Statement/v1":
    sys.exit(f"_type is {s.get('_type')!r}, not an in-toto Statement v1")
if s.get("predicateType") != "https://slsa.dev/provenance/v1":
    sys.exit(f"predicateType is {s.get('predicateType')!r}, not SLSA provenance v1")
commit = s["predicate"]["buildDefinition"]["externalParameters"]["source"]["digest"]["gitCommit"]
print("commit", commit)
for subject in s["subject"]:
    name, digest = subject["name"], subject["digest"]["sha256"]
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        sys.exit(f"subject {name!r} is not a file name and a sha256")
    print("subject", name, digest)
EOF
	fail "$provenance" "not the release's provenance: $(tail -n1 "$work/python")"
commit=
subjects=
while read -r kind name digest; do
	case $kind in
	commit) commit=$name ;;
	subject)
		case " $binaries $sboms " in *" $name "*) ;; *) fail "$provenance" "names $name, which is not a binary or SBOM of the release" ;; esac
		[ "$(sum_of "$name")" = "$digest" ] || fail "$provenance" "gives $name a sha256 that is not the one in SHA256SUMS"
		subjects="$subjects $name"
		;;
	esac
done <"$work/subjects"
for name in $binaries $sboms; do
	case "$subjects " in *" $name "*) ;; *) fail "$provenance" "does not name $name" ;; esac
done
echo "$me: ok: $provenance names the binaries and SBOMs as built from commit $commit"

# 4. The image archive: each platform's layer holds the binary of the sums.
mkdir "$work/layout"
tar -xf "$dist/$archive" -C "$work/layout" 2>"$work/tar" || fail "$archive" "not a tar archive: $(tail -n1 "$work/tar")"
python3 - "$work/layout" >"$work/image" 2>"$work/python" <<'EOF' ||
import json, os, re, sys
layout = sys.argv[1]
def blob(digest):
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        sys.exit(f"digest {digest!r} is not a sha256")
    print("blob", digest[7:])
    return os.path.join(layout, "blobs", "sha256", digest[7:])
def read(digest):
    with open(blob(digest), encoding="utf-8") as f:
        return json.load(f)
with open(os.path.join(layout, "index.json"), encoding="utf-8") as f:
    top = json.load(f)["manifests"]
if len(top) != 1 or top[0]["mediaType"] != "application/vnd.oci.image.index.v1+json":
    sys.exit("index.json does not name one image index")
index = read(top[0]["digest"])
print("revision", index.get("annotations", {}).get("org.opencontainers.image.revision", "-"))
for image in index["manifests"]:
    platform = image["platform"]
    manifest = read(image["digest"])
    blob(manifest["config"]["digest"])
    layers = manifest["layers"]
    if len(layers) != 1:
        sys.exit(f"the {platform['os']}/{platform['architecture']} image has {len(layers)} layers, not one")
    print("layer", platform["os"] + "/" + platform["architecture"], blob(layers[0]["digest"]).rsplit("/", 1)[1])
EOF
	fail "$archive" "not the release's OCI image archive: $(tail -n1 "$work/python")"
platforms=
while read -r kind a b; do
	case $kind in
	blob)
		[ -f "$work/layout/blobs/sha256/$a" ] || fail "$archive" "its index names blob sha256:$a, which it lacks"
		[ "$(sha256_of "$work/layout/blobs/sha256/$a")" = "$a" ] || fail "$archive" "its blob sha256:$a has another digest"
		;;
	revision)
		[ "$a" = "$commit" ] || fail "$archive" "its index's revision annotation is $a, not the provenance's commit $commit"
		;;
	layer)
		case $a in linux/amd64 | linux/arm64) ;; *) fail "$archive" "holds an image for $a, which the release does not build" ;; esac
		arch=${a#linux/}
		[ -d "$work/$arch" ] && fail "$archive" "holds two $a images"
		mkdir "$work/$arch"
		tar -xzf "$work/layout/blobs/sha256/$b" -C "$work/$arch" 2>"$work/tar" ||
			fail "$archive" "the $a layer is not a gzip tar: $(tail -n1 "$work/tar")"
		[ "$(ls -A "$work/$arch")" = aws-oidc ] || fail "$archive" "the $a layer holds more than /aws-oidc"
		[ "$(sha256_of "$work/$arch/aws-oidc")" = "$(sum_of "aws-oidc-linux-$arch")" ] ||
			fail "$archive" "the $a layer's /aws-oidc is not the aws-oidc-linux-$arch of SHA256SUMS"
		platforms="$platforms $a"
		;;
	esac
done <"$work/image"
[ "$platforms" = " linux/amd64 linux/arm64" ] || fail "$archive" "holds the images$platforms, not linux/amd64 and linux/arm64"
echo "$me: ok: $archive holds linux/amd64 and linux/arm64, each layer the binary of SHA256SUMS"
echo "$me: OK: $dist is the signed release of commit $commit"
