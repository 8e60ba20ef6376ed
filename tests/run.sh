#!/usr/bin/env bash
# The README's second command: builds egw into build-test (with AddressSanitizer
# and UndefinedBehaviorSanitizer unless EGW_SANITIZE=0), runs the unit tests,
# each fuzz target for EGW_FUZZ_SECONDS (20; clang build in <build dir>-libfuzzer),
# then the Node integration tests against real processes under supervisord,
# and ends with one line "N passed, N failed". Exits non-zero if anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

: "${EGW_SANITIZE:=1}"
if [[ $EGW_SANITIZE == 1 ]]; then
    : "${EGW_TEST_BUILD_DIR:=$ROOT/build-test}"
    SANITIZE=address,undefined
else
    : "${EGW_TEST_BUILD_DIR:=$ROOT/build-test-nosan}"
    SANITIZE=none
fi
BUILD_DIR=$EGW_TEST_BUILD_DIR
RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/egw-results.XXXXXX")
trap 'rm -rf "$RESULTS"' EXIT

# Prints the closing line and exits; a step that could not run counts as one failure.
finish() {
    local passed=$1 failed=$2 skipped=${3:-0}
    if ((skipped > 0)); then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    ((failed == 0))
    exit $?
}

step() { printf '\n=== %s\n' "$*"; }

step "packages"
"$ROOT/deploy/egw" install || { echo "tests: could not install the packages egw needs"; finish 0 1; }

step "build ($BUILD_DIR, sanitizers: $SANITIZE)"
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    meson setup "$BUILD_DIR" "$ROOT" --buildtype=debug \
        -Db_sanitize="$SANITIZE" -Db_lundef="$([[ $SANITIZE == none ]] && echo true || echo false)" ||
        { echo "tests: meson setup failed"; finish 0 1; }
fi
meson compile -C "$BUILD_DIR" || { echo "tests: build failed"; finish 0 1; }

step "npm dependencies (tests/node_modules)"
if [[ ! -d $ROOT/tests/node_modules/@serverless/event-gateway-sdk ]]; then
    (cd "$ROOT/tests" && npm ci --no-audit --no-fund) ||
        { echo "tests: npm ci failed in tests/"; finish 0 1; }
fi

# Sanitizer reports go to the process logs, where the integration harness
# looks for them; a report fails the test file whose gateway printed it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

step "unit tests (meson test --suite unit)"
rm -f "$BUILD_DIR/meson-logs/testlog.json"
meson test -C "$BUILD_DIR" --suite unit --print-errorlogs --timeout-multiplier 3
unit_rc=$?
# testlog.json has one JSON object per test; meson writes none when the suite is empty.
read -r unit_passed unit_failed unit_skipped < <(node -e '
    const fs = require("fs");
    let p = 0, f = 0, s = 0;
    try {
        for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n")) {
            if (!line.trim()) continue;
            const r = JSON.parse(line).result;
            if (r === "OK" || r === "EXPECTEDFAIL") p++;
            else if (r === "SKIP") s++;
            else f++;
        }
    } catch (e) { if (e.code !== "ENOENT") f++; }
    console.log(p, f, s);
' "$BUILD_DIR/meson-logs/testlog.json")
if ((unit_rc != 0 && unit_failed == 0)); then
    echo "tests: meson test exited $unit_rc without a failed test in its log; counting one failure"
    unit_failed=1
fi

# Each libFuzzer target briefly (tests/fuzz/run.sh; EGW_FUZZ_SECONDS=0 skips),
# one test per target; no clang or libFuzzer counts as one skip.
fuzz_passed=0 fuzz_failed=0 fuzz_skipped=0
if [[ ${EGW_FUZZ_SECONDS:=20} != 0 ]]; then
    step "fuzzing (tests/fuzz/run.sh, ${EGW_FUZZ_SECONDS} s per target)"
    FUZZ_OUT=$RESULTS/fuzz.out
    EGW_FUZZ_BUILD_DIR=${EGW_FUZZ_BUILD_DIR:-$BUILD_DIR-libfuzzer} EGW_FUZZ_JOBS=${EGW_FUZZ_JOBS:-2} \
        "$ROOT/tests/fuzz/run.sh" "$EGW_FUZZ_SECONDS" | tee "$FUZZ_OUT"
    fuzz_rc=${PIPESTATUS[0]}
    fuzz_passed=$(grep -c ' ok$' "$FUZZ_OUT")
    fuzz_failed=$(grep -c ' FAILED ' "$FUZZ_OUT")
    if ((fuzz_rc == 3)); then
        fuzz_skipped=1
    elif ((fuzz_rc != 0 && fuzz_failed == 0)); then
        fuzz_failed=1
    fi
fi

step "integration tests (node --test tests/integration/)"
TAP=$RESULTS/integration.tap
# The outer timeout bounds a hung test file; every wait inside is bounded too.
EGW_BUILD_DIR=$BUILD_DIR timeout --kill-after=15 "${EGW_TEST_TIMEOUT:-900}" node --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$TAP" \
    "$ROOT/tests/integration/"
int_rc=$?
read -r int_passed int_failed int_skipped < <(awk '
    /^# pass /      { p = $3 }
    /^# fail /      { f += $3 }
    /^# cancelled / { f += $3 }
    /^# skipped /   { s = $3 }
    END { print p + 0, f + 0, s + 0 }' "$TAP" 2>/dev/null || echo "0 0 0")
if ((int_rc != 0 && int_failed == 0)); then
    echo "tests: node --test exited $int_rc without a failed test in its report; counting one failure"
    int_failed=1
fi

# The benchmark's smoke run (every step for 1 s) checks that bench/run still
# works end to end; it asserts no figure. It uses this build, not a release
# one, to save a compile. EGW_BENCH_SMOKE=0 skips it.
bench_passed=0 bench_failed=0 bench_skipped=0
if [[ ${EGW_BENCH_SMOKE:-1} != 0 ]]; then
    step "benchmark smoke run (bench/run --smoke)"
    BENCH_OUT=$RESULTS/bench.out
    if ! { command -v wrk && command -v nginx || [[ -x /usr/sbin/nginx ]]; } >/dev/null && [[ $(id -u) -ne 0 ]]; then
        echo "tests: wrk or nginx missing and not root to install them; benchmark smoke run skipped"
        bench_skipped=1
    elif EGW_BENCH_BUILD_DIR=$BUILD_DIR timeout 600 "$ROOT/bench/run" --smoke 2>&1 | tee "$BENCH_OUT" &&
         grep -q '^c/b req/s' "$BENCH_OUT" && grep -q '^ratio 1000/10' "$BENCH_OUT"; then
        bench_passed=1
    else
        echo "tests: bench/run --smoke failed (output: $BENCH_OUT)"
        bench_failed=1
    fi
fi

echo
echo "unit: $unit_passed passed, $unit_failed failed, $unit_skipped skipped; fuzz: $fuzz_passed passed, $fuzz_failed failed, $fuzz_skipped skipped; integration: $int_passed passed, $int_failed failed, $int_skipped skipped; benchmark smoke: $bench_passed passed, $bench_failed failed, $bench_skipped skipped"
finish $((unit_passed + fuzz_passed + int_passed + bench_passed)) \
    $((unit_failed + fuzz_failed + int_failed + bench_failed)) \
    $((unit_skipped + fuzz_skipped + int_skipped + bench_skipped))
