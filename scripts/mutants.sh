#!/usr/bin/env bash
# `make mutants` (issue 13): mutation testing in two stages, so a measured
# run fits in the time there is.
#   1. every mutant in scope against the unit tests only (`--lib` for the
#      build and the run: seconds per mutant);
#   2. only stage 1's survivors (missed or timed out, each named exactly)
#      against the whole suite, where the integration binary runs the real
#      binary against the TLS stand-in; under cargo-nextest when it is
#      installed, which stops at the first failing test.
# A mutant caught in stage 1 is caught by the whole suite too (it includes
# the unit tests), so the two stages together give the whole suite's verdict.
#
# Knobs (environment): FILE=src/x.rs narrows to one file (a glob),
# SHARD=k/n runs every n-th mutant from the k-th (k counts from 0: a
# sample spread over the whole crate), JOBS=n runs n mutants at once
# (default 1), MUTANTS_ARGS adds flags.
# Everything runs under `nice -n 19`, so other builds go first.
# With one job, builds go to target/mutants-build (kept warm between runs,
# outside the normal target/ so a run never invalidates it). With JOBS > 1
# each job builds from cold in its own copy of the tree, which cargo-mutants
# makes in the temporary folder (about 350 MB each) and removes when it ends.
# Results: target/mutants/<scope>/stage1/mutants.out and .../stage2/mutants.out.
# STAGE1=keep reuses the last stage 1 of the same scope (after adding tests
# that should kill its survivors). Exit status: cargo-mutants' last one
# (0 = none missed).
set -uo pipefail

scope=()
[ -n "${FILE:-}" ] && scope+=(--file "$FILE")
[ -n "${SHARD:-}" ] && scope+=(--shard "$SHARD" --sharding round-robin)
name=$(printf '%s' "${FILE:-crate}${SHARD:+-shard-$SHARD}" | tr -c 'A-Za-z0-9.-' '_')
out=target/mutants/$name
mkdir -p "$out"
# One job builds in target/mutants-build, kept warm between runs; with
# JOBS > 1 each job builds in its own copy of the tree (a shared folder
# would make them take turns on cargo's lock).
if [ "${JOBS:-1}" -gt 1 ]; then unset CARGO_TARGET_DIR; else export CARGO_TARGET_DIR=$PWD/target/mutants-build; fi
# No debug info: nobody reads a mutant's backtrace, and linking the test
# binaries without it takes a fraction of the time.
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0

# shellcheck disable=SC2086 # MUTANTS_ARGS is a list of flags
run() { nice -n 19 cargo mutants --jobs "${JOBS:-1}" ${MUTANTS_ARGS:-} "$@"; }
# Stage 2 runs under cargo-nextest when it is installed: it stops at the
# first failing test, where `cargo test` runs the whole integration binary
# (20 s) for every mutant it catches. Same tests, same verdicts.
stage2_tool=()
command -v cargo-nextest >/dev/null && stage2_tool=(--test-tool nextest)
count() { cat "$1" 2>/dev/null | wc -l; }

# Stage 1 writes to $out/stage1, stage 2 to $out/stage2 (each a mutants.out).
start=$(date +%s)
status=0
if [ "${STAGE1:-}" != keep ] || [ ! -d "$out/stage1/mutants.out" ]; then
	echo "== stage 1: unit tests (cargo test --lib)"
	run "${scope[@]}" --output "$out/stage1" --cargo-arg=--lib
	status=$?
fi
# 2 = some missed, 3 = some timed out: both go on to stage 2.
case $status in 0 | 2 | 3) ;; *)
	echo "mutants: stage 1 failed (cargo-mutants exit $status); see $out/stage1/mutants.out/" >&2
	exit "$status"
	;;
esac
s1=$out/stage1/mutants.out s2=$out/stage2/mutants.out
rm -rf "$out/stage2"
# Stage 2 names each survivor exactly (one anchored --re per name), rather
# than repeating the scope with --iterate: cargo-mutants applies --shard
# after --iterate's exclusions, so a sharded stage 2 would pick other
# mutants (measured: 77 instead of stage 1's 17).
names=()
while IFS= read -r name; do
	names+=(--re "^$(printf '%s' "$name" | sed 's/[][\\.+*?(){}|^$#&~-]/\\&/g')\$")
done < <(cat "$s1/missed.txt" "$s1/timeout.txt" 2>/dev/null)
if [ ${#names[@]} -gt 0 ]; then
	echo "== stage 2: stage 1's $((${#names[@]} / 2)) survivors against the whole cargo test"
	run "${stage2_tool[@]}" "${names[@]}" --output "$out/stage2"
	status=$?
fi
minutes=$((($(date +%s) - start + 59) / 60))

caught=$(($(count $s1/caught.txt) + $(count $s2/caught.txt)))
unviable=$(($(count $s1/unviable.txt) + $(count $s2/unviable.txt)))
missed=$(count $s2/missed.txt)
timeout=$(count $s2/timeout.txt)
printf '%-9s %s\n' caught "$caught" missed "$missed" unviable "$unviable" timeout "$timeout" minutes "$minutes"
if [ $((caught + missed)) -gt 0 ]; then
	awk -v c="$caught" -v m="$missed" 'BEGIN { printf "score     %.1f%% (caught / (caught + missed))\n", 100 * c / (c + m) }'
fi
[ "$missed" = 0 ] || echo "survivors: $s2/missed.txt; each needs a test or a line in tests/mutants-survivors.md"
exit "$status"
