#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each, one after another
# on one core, and prints per target the executions and whether anything was
# found. Exits non-zero when a target finds a crash (its input is saved in
# fuzz/artifacts/<target>/).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (make fuzz FUZZ_SECONDS=600)
#
# Env: FUZZ_SANITIZER (address, the default; none when ASan is not
# available), FUZZ_ARGS (extra libFuzzer flags).
#
# Only a stable toolchain is assumed: cargo-fuzz passes nightly-only flags
# (-Zsanitizer, sanitizer coverage passes), which RUSTC_BOOTSTRAP=1 lets
# stable rustc accept. The fuzz crate is its own workspace, so none of this
# touches the main build.
set -euo pipefail

seconds=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-address}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# Seed corpus: each target's committed seeds (fuzz/seeds/TARGET/), its saved
# findings (tests/fixtures/fuzz/TARGET-*), and for the response parser the
# saved answers in tests/fixtures/. Each copy is named after the folder it
# came from. The corpus dirs are git-ignored and grow between runs.
seed() {
    local target=$1 f
    local from=("fuzz/seeds/$target"/* "tests/fixtures/fuzz/$target"-*)
    if [ "$target" = response ]; then
        from+=(tests/fixtures/*.xml tests/fixtures/*.html tests/fixtures/*.txt)
    fi
    mkdir -p "fuzz/corpus/$target"
    for f in "${from[@]}"; do
        if [ -f "$f" ]; then
            cp "$f" "fuzz/corpus/$target/$(dirname "$f" | tr / -)-$(basename "$f")"
        fi
    done
}

cargo fuzz build -s "$sanitizer"

mkdir -p fuzz/artifacts/logs
summary=()
failed=0
for target in "${targets[@]}"; do
    seed "$target"
    mkdir -p "fuzz/artifacts/$target"
    before=$(find "fuzz/artifacts/$target" -maxdepth 1 -type f | sort)
    dict=()
    [ -f "fuzz/$target.dict" ] && dict=("-dict=fuzz/$target.dict")
    log="fuzz/artifacts/logs/$target.log"
    echo "fuzz: $target for ${seconds}s (log: $log)"
    status=0
    started=$SECONDS
    # shellcheck disable=SC2086
    cargo fuzz run -s "$sanitizer" "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "${dict[@]}" ${FUZZ_ARGS:-} >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n1)
    corpus=$(find "fuzz/corpus/$target" -maxdepth 1 -type f | wc -l)
    new=$(comm -13 <(echo "$before") <(find "fuzz/artifacts/$target" -maxdepth 1 -type f | sort) | sed '/^$/d')
    if [ "$status" -ne 0 ] || [ -n "$new" ]; then
        failed=1
        found="FOUND: $(echo "$new" | tr '\n' ' ')(exit $status; see $log)"
        grep -m3 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)" "$log" | sed 's/^/    /' || true
    else
        found="nothing found"
    fi
    line=$(printf '%-9s %12s execs  %6s s  %7s exec/s  corpus %5s  %s' \
        "$target" "${runs:-?}" "${took:-$((SECONDS - started))}" "${rate:-?}" "$corpus" "$found")
    echo "fuzz: $line"
    summary+=("$line")
done

echo
echo "fuzz summary (${seconds}s per target, sanitizer $sanitizer):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
