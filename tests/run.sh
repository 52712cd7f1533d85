#!/usr/bin/env bash
# Runs every test: unit tests and integration tests on the normal build,
# then the same suite on a build with AddressSanitizer and UBSan.
# Prints each suite's results and closes with "N passed, N failed".
set -u
cd "$(dirname "$0")/.."

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
JOBS=$(nproc 2>/dev/null || echo 2)
TOTAL_PASS=0
TOTAL_FAIL=0
FAILED_SUITES=()

# run_suite NAME CMD...: runs a suite and adds its "N passed, N failed".
# A suite that ends without that line, or fails without counting a
# failure, counts as one failure.
run_suite() {
	local name=$1 out rc line p f
	shift
	echo "=== $name"
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -vE '^ok ' | sed 's/^/  /'
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		p=0 f=1
		echo "  (no summary line: counted as a failure; exit $rc)"
	else
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	fi
	TOTAL_PASS=$((TOTAL_PASS + p))
	TOTAL_FAIL=$((TOTAL_FAIL + f))
	[ "$f" -eq 0 ] || FAILED_SUITES+=("$name")
}

run_build() {
	local build=$1 san=$2
	echo "##### building $build"
	if ! make -s -j"$JOBS" SAN="$san" all unit; then
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		FAILED_SUITES+=("build $build")
		return
	fi
	for t in "$build"/tests/test_*; do
		run_suite "$build unit $(basename "$t")" "$t"
	done
	for t in tests/integration/t_*.sh; do
		run_suite "$build integration $(basename "$t" .sh)" env BUILD="$build" bash "$t"
	done
}

run_build build ""
run_build build-san 1

echo
[ ${#FAILED_SUITES[@]} -eq 0 ] || printf 'failed suite: %s\n' "${FAILED_SUITES[@]}"
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" -eq 0 ]
