#!/usr/bin/env bash
# `make mutants` (issue 13): mutation testing in two stages, so a measured
# run fits in the time there is.
#   1. every mutant in scope against the unit tests only (`cargo test --lib`,
#      seconds per mutant);
#   2. only stage 1's survivors (cargo-mutants' --iterate skips what was
#      caught or unviable) against the whole `cargo test`, where the
#      integration binary runs the real binary against the TLS stand-in.
# A mutant caught in stage 1 is caught by the whole suite too (it includes
# the unit tests), so the two stages together give the whole suite's verdict.
#
# Knobs (environment): FILE=src/x.rs narrows to one file (a glob),
# SHARD=k/n runs every n-th mutant from the k-th (k counts from 0: a
# sample spread over the whole crate), MUTANTS_ARGS adds flags.
# Everything runs under `nice -n 19` with one job, so other builds go first.
# Builds go to target/mutants-build (kept warm between runs, outside the
# normal target/ so a run never invalidates it); cargo-mutants copies the
# tree to a temporary folder and removes it when it ends.
# Results: target/mutants/<scope>/mutants.out (stage 2) and mutants.out.old
# (stage 1). Exit status: cargo-mutants' from stage 2 (0 = none missed).
set -uo pipefail

scope=()
[ -n "${FILE:-}" ] && scope+=(--file "$FILE")
[ -n "${SHARD:-}" ] && scope+=(--shard "$SHARD" --sharding round-robin)
name=$(printf '%s' "${FILE:-crate}${SHARD:+-shard-$SHARD}" | tr -c 'A-Za-z0-9.-' '_')
out=target/mutants/$name
mkdir -p "$out"
export CARGO_TARGET_DIR=$PWD/target/mutants-build

# shellcheck disable=SC2086 # MUTANTS_ARGS is a list of flags
run() { nice -n 19 cargo mutants --jobs 1 --output "$out" "${scope[@]}" ${MUTANTS_ARGS:-} "$@"; }
count() { cat "$out/$1" 2>/dev/null | wc -l; }

start=$(date +%s)
echo "== stage 1: unit tests (cargo test --lib)"
run -- --lib
status=$?
# 2 = some missed, 3 = some timed out: both go on to stage 2.
case $status in 0 | 2 | 3) ;; *)
	echo "mutants: stage 1 failed (cargo-mutants exit $status); see $out/mutants.out/" >&2
	exit "$status"
	;;
esac
s1=mutants.out s2=none
if [ $(($(count $s1/missed.txt) + $(count $s1/timeout.txt))) -gt 0 ]; then
	echo "== stage 2: stage 1's survivors against the whole cargo test"
	run --iterate
	status=$?
	# Stage 1 (now mutants.out.old) settled its caught and unviable
	# mutants; stage 2 gave the verdict on every other one.
	s1=mutants.out.old s2=mutants.out
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
[ "$missed" = 0 ] || echo "survivors: $out/$s2/missed.txt; each needs a test or a line in tests/mutants-survivors.md"
exit "$status"
