#!/usr/bin/env bash
# Runs every test: unit tests and integration tests on the normal build,
# then the same suite on a build with AddressSanitizer and UBSan, then the
# formatting and banned-call check (tests/lint.sh), the fuzz corpora
# replayed, the static analysis, and integration tests with kipd under
# valgrind (docs/HARDENING.md).
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

# suite_env NAME: what suite NAME adds to its environment. The scheduler's
# suites run kipd with a TZ far from its configured timezone (the default,
# Europe/Copenhagen), once each and on every build: local times must not
# follow TZ. tests/clock_lib.sh keeps their own dates in kipd's zone.
suite_env() {
	case $1 in
	t_reminders) echo TZ=UTC ;;
	t_followup_consent) echo TZ=Asia/Tokyo ;;
	esac
}

run_build() {
	local build=$1 san=$2 name
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
		name=$(basename "$t" .sh)
		# shellcheck disable=SC2046 # one VAR=value word, or none
		run_suite "$build integration $name" env BUILD="$build" \
			$(suite_env "$name") bash "$t"
	done
}

# Valgrind (memcheck) over a subset of the integration tests, kipd only,
# on the normal build; docs/HARDENING.md says why these. Any error or
# definite leak makes kipd exit 99, which kip_stop counts as a failure.
VALGRIND_TESTS=${VALGRIND_TESTS:-t_control t_domain t_erase t_certs t_audit \
t_reminders t_stats t_mail t_mail_tls t_mqtt t_imap t_deviation t_intake t_reports \
t_systemd t_delivery t_queue t_orgcert t_pdf_delivery}
# --trace-children: kipd's mail reader (kip-inmail) is checked too; an
# error there ends it with 99, kipd quarantines the message as unreadable,
# and t_intake's counts fail. Not the stand-in reader t_intake puts in alt/.
VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full \
--suppressions=$PWD/tests/valgrind.supp \
--errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30 \
--trace-children=yes --trace-children-skip=*/alt/kip-inmail"

run_valgrind() {
	local t
	if ! command -v valgrind >/dev/null; then
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		FAILED_SUITES+=("valgrind (not installed)")
		return
	fi
	for t in $VALGRIND_TESTS; do
		# shellcheck disable=SC2046 # one VAR=value word, or none
		run_suite "valgrind integration $t" env BUILD=build \
			KIPD_WRAP="$VALGRIND" KIP_TEST_SLOW=10 $(suite_env "$t") \
			bash "tests/integration/$t.sh"
	done
}

# ThreadSanitizer over the suites where kipd's threads share work: the
# SMTP workers encrypting and sending while the loop queues and records
# (t_mail, t_mail_faults, t_crash), a cancellation racing a transfer's
# final bytes (t_withdraw), the intake worker and its mail reader
# (t_intake), the MQTT inbox (t_mqtt), the operator's retry racing the
# workers (t_queue), the workers' own SMTP connections (t_dsn_request),
# the directory searches' helpers started by the loop while the SMTP
# workers run (t_directory), PDFs rendered in helpers beside Pango's own
# threads (t_pdf_delivery). A report ends kipd with status 66, which kip_stop
# counts as a failure. tests/tsan.supp says what is suppressed and why.
TSAN_TESTS=${TSAN_TESTS:-t_mail t_mail_faults t_crash t_withdraw t_intake t_mqtt t_queue \
t_dsn_request t_directory t_pdf_delivery}

run_tsan() {
	local t
	echo "##### building build-tsan"
	if ! make -s -j"$JOBS" BUILD=build-tsan OPTFLAGS="-O1 -g" \
		SANFLAGS="-fsanitize=thread -fno-omit-frame-pointer" all unit; then
		TOTAL_FAIL=$((TOTAL_FAIL + 1))
		FAILED_SUITES+=("build build-tsan")
		return
	fi
	for t in $TSAN_TESTS; do
		run_suite "tsan integration $t" env BUILD=build-tsan \
			TSAN_OPTIONS="halt_on_error=0 suppressions=$PWD/tests/tsan.supp" \
			bash "tests/integration/$t.sh"
	done
}

# What the normal build's suites left in their outboxes: messages per
# state, and every copy the test Postfix bounced after taking it detected.
KIP_TALLY_FILE=$(mktemp /tmp/kip-tally.XXXXXX)
export KIP_TALLY=$KIP_TALLY_FILE
run_build build ""
unset KIP_TALLY
echo "##### what the suites' outboxes held at their end (normal build)"
if ! bash tests/tally.sh "$KIP_TALLY_FILE"; then
	TOTAL_FAIL=$((TOTAL_FAIL + 1))
	FAILED_SUITES+=("tally: a bounce was not detected")
fi
rm -f "$KIP_TALLY_FILE"
run_build build-san 1
run_tsan
echo "##### formatting and banned calls, fuzz corpora, static analysis, valgrind"
run_suite "lint" make -s lint
run_suite "fuzz replay" make -s fuzz-replay
run_suite "analyze" make -s analyze
run_valgrind

echo
[ ${#FAILED_SUITES[@]} -eq 0 ] || printf 'failed suite: %s\n' "${FAILED_SUITES[@]}"
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" -eq 0 ]
