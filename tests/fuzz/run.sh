#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ for a given time each:
#   tests/fuzz/run.sh SECONDS [TARGET...]      (targets: event_build
#   cloudevent_json config_body wire_decode function_reply, with or
#   without "fuzz_")
# Builds them with clang (-fsanitize=fuzzer,address,undefined) into their
# own build dir (EGW_FUZZ_BUILD_DIR, default build-libfuzzer), grows a
# working corpus there from the seeds in corpus/ and the kept crash inputs
# in regressions/, and writes any crash, leak, timeout or out-of-memory
# input to tests/fuzz/crashes/. Exits 1 if a target found one (fix it, then
# move the file to regressions/<target>/ so the unit tests replay it),
# 2 on a usage or build error, 3 when clang or its libFuzzer runtime is
# missing. EGW_FUZZ_JOBS=2 runs two targets at once. Prints one line per
# target ending in "ok" or "FAILED ...".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ=$ROOT/tests/fuzz
ALL=(event_build cloudevent_json config_body wire_decode function_reply)
BUILD=${EGW_FUZZ_BUILD_DIR:-$ROOT/build-libfuzzer}
JOBS=${EGW_FUZZ_JOBS:-1}

usage() { echo "usage: tests/fuzz/run.sh SECONDS [${ALL[*]}]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
SECONDS_EACH=$1
shift
targets=()
for t in "${@:-${ALL[@]}}"; do
    t=${t#fuzz_}
    [[ " ${ALL[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t" >&2; usage; }
    targets+=("$t")
done

CLANG=$(command -v clang-14 || command -v clang) ||
    { echo "fuzz: clang not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 3; }
[[ -n $("$CLANG" -print-file-name=libclang_rt.fuzzer-x86_64.a | grep /) &&
   -f $("$CLANG" -print-file-name=libclang_rt.fuzzer-x86_64.a) ]] ||
    { echo "fuzz: libFuzzer runtime not found (apt-get install libclang-rt-14-dev)" >&2; exit 3; }

if [[ ! -f $BUILD/build.ninja ]]; then
    # fuzzer-no-link gives the libraries the coverage instrumentation libFuzzer
    # steers by; the targets themselves link -fsanitize=fuzzer (meson.build).
    # UBSan must stop at the first report, or libFuzzer never sees it.
    CC=$CLANG meson setup "$BUILD" "$ROOT" --buildtype=debugoptimized -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=false \
        -Dc_args="-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined" >/dev/null ||
        { echo "fuzz: meson setup failed in $BUILD" >&2; exit 2; }
fi
ninja -C "$BUILD" "${targets[@]/#/tests/fuzz/fuzz_}" >"$BUILD/fuzz-build.log" 2>&1 ||
    { cat "$BUILD/fuzz-build.log" >&2; echo "fuzz: build failed" >&2; exit 2; }

mkdir -p "$FUZZ/crashes" "$BUILD/fuzz-logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
# A report must stop the target, whatever the caller's options say.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:halt_on_error=1"

# The dictionary each target uses.
dict_of() {
    case $1 in
        event_build) echo "$FUZZ/dict/event_build.dict" ;;
        wire_decode) echo "$FUZZ/dict/wire_decode.dict" ;;
        *) echo "$FUZZ/dict/json.dict" ;;
    esac
}

# Runs one target; its summary line goes to $BUILD/fuzz-logs/$1.summary.
run_one() {
    local t=$1 name=fuzz_$1
    local work=$BUILD/fuzz-corpus/$name log=$BUILD/fuzz-logs/$name.log
    local dirs=("$work" "$FUZZ/corpus/$name")
    [[ -d $FUZZ/regressions/$name ]] && dirs+=("$FUZZ/regressions/$name")
    mkdir -p "$work"
    # New inputs go to the first directory (the working corpus), never to
    # the committed seeds.
    local start=$EPOCHREALTIME
    timeout --kill-after=30 $((SECONDS_EACH + 120)) nice -n 10 "$BUILD/tests/fuzz/$name" \
        -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=1536 -max_len=16384 \
        -print_final_stats=1 -dict="$(dict_of "$t")" \
        -artifact_prefix="$FUZZ/crashes/$name-" "${dirs[@]}" >"$log" 2>&1
    local rc=$? elapsed
    elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", b - a }')
    local execs runs
    execs=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log" | tail -1)
    runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log" | tail -1)
    local verdict=ok
    # Its own log, not the crashes/ folder, which other runs share.
    if ((rc != 0)) || grep -q '^artifact_prefix=.*Test unit written to' "$log"; then
        verdict="FAILED (exit $rc; see $log and tests/fuzz/crashes/)"
    fi
    printf '%-20s %4ss %10s runs %7s exec/s  corpus %5s  %s\n' "$name" "$elapsed" \
        "${runs:-?}" "${execs:-?}" "$(find "$work" -type f | wc -l)" "$verdict" \
        >"$BUILD/fuzz-logs/$name.summary"
    [[ $verdict == ok ]]
}

failed=0
pids=()
for t in "${targets[@]}"; do
    run_one "$t" &
    pids+=($!)
    if ((${#pids[@]} >= JOBS)); then
        wait "${pids[0]}" || failed=1
        pids=("${pids[@]:1}")
    fi
done
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
for t in "${targets[@]}"; do
    cat "$BUILD/fuzz-logs/fuzz_$t.summary"
done
if ((failed)); then
    echo "fuzz: a target found a crash; inputs are in tests/fuzz/crashes/"
    exit 1
fi
echo "fuzz: no crash in ${#targets[@]} target(s), ${SECONDS_EACH}s each"
