# lib.sh — helpers for the integration tests (sourced).
#
# Each test script starts its own kipd on a temporary directory, drives it
# through the real kipctl, and ends with t_done, which prints
# "N passed, N failed" and sets the exit status.

set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case $BUILD in /*) BUILD_DIR=$BUILD ;; *) BUILD_DIR=$ROOT/$BUILD ;; esac
KIPD=${KIPD:-$BUILD_DIR/kipd}
KIPCTL=${KIPCTL:-$BUILD_DIR/kipctl}
# KIPD_WRAP: a command that kipd runs under, e.g. "valgrind --error-exitcode=99"
# (tests/run.sh's valgrind pass); its errors make kipd's exit status
# non-zero, which kip_stop reports. KIP_TEST_SLOW: a factor for the waits
# in this file, for such slow runs (1 by default).
KIPD_WRAP=${KIPD_WRAP:-}
# KIPD_ARGS: more arguments for kipd, e.g. "--test-clock FILE".
KIPD_ARGS=${KIPD_ARGS:-}
KIP_TEST_SLOW=${KIP_TEST_SLOW:-1}
FIXTURES=$ROOT/tests/fixtures
T_PASS=0
T_FAIL=0
KIPD_PID=""

TDIR=$(mktemp -d /tmp/kip-test.XXXXXX)
chmod 0755 "$TDIR" # other test users must reach the socket
export KIP_SOCKET=$TDIR/kipd.sock

# KIP_TALLY: a file to which each suite adds, at its end (t_done), what its outbox
# holds: one line "SUITE STATE DELIVERY COUNT BOUNCE_DOMAIN" per state and
# delivery, BOUNCE_DOMAIN counting the copies the test Postfix took for
# bounce.example, a domain it accepts and then bounces (tests/tally.sh
# sums them up for tests/run.sh).
t_tally() {
	[ -n "${KIP_TALLY:-}" ] && [ -f "$TDIR/kip.db" ] || return 0
	sqlite3 -separator ' ' "file:$TDIR/kip.db?mode=ro" \
		"SELECT '$(basename "$0" .sh)', state, coalesce(delivery, '-'), count(*),
		  sum(recipient LIKE '%@bounce.example' AND state = 'sent'
		      AND reports = 'requested')
		 FROM outbox GROUP BY state, delivery" >>"$KIP_TALLY" 2>/dev/null || true
}

t_cleanup() {
	kip_stop
	rm -rf "$TDIR"
}
trap t_cleanup EXIT

pass() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
fail() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | head -20 | sed 's/^/    # /'
	return 0
}

# check DESC CMD...: passes if CMD exits 0.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$out"; fi
}

# check_out DESC PATTERN CMD...: exit 0 and output matches PATTERN (grep -E).
check_out() {
	local desc=$1 pat=$2 out
	shift 2
	if out=$("$@" 2>&1) && grep -qE -- "$pat" <<<"$out"; then
		pass "$desc"
	else
		fail "$desc" "expected /$pat/, got: $out"
	fi
}

# check_err DESC PATTERN CMD...: non-zero exit and output matches PATTERN.
check_err() {
	local desc=$1 pat=$2 out
	shift 2
	if ! out=$("$@" 2>&1) && grep -qE -- "$pat" <<<"$out"; then
		pass "$desc"
	else
		fail "$desc" "expected failure /$pat/, got: $out"
	fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}

kipctl() { "$KIPCTL" "$@"; }

# add_members PLAN FROM TO NAME LOCAL DOMAIN: professionals "NAME NN",
# <LOCALNN@DOMAIN>, for NN = FROM..TO (zero-padded to TO's width), each
# made a member of PLAN.
add_members() {
	local plan=$1 name=$4 local=$5 domain=$6 i id
	for i in $(seq -w "$2" "$3"); do
		id=$(kipctl --json contact add --kind professional --name "$name $i" \
			--email "$local$i@$domain" | jq -r .id)
		kipctl plan member add "$plan" "$id" >/dev/null
	done
}

# as USER CMD...: runs CMD as an OS user (with the socket's group).
as() {
	local user=$1
	shift
	setpriv --reuid="$(id -u "$user")" --regid="$(id -g "$user")" \
		--groups="$(getent group kiptest | cut -d: -f3)" "$@"
}

# Writes the test configuration, with $KIP_EXTRA_CONF appended.
kip_config() {
	getent group kiptest >/dev/null || groupadd -r kiptest
	cat >"$TDIR/kipd.conf" <<CONF
store = { path = "$TDIR/kip.db"; };
control = {
  socket = "$TDIR/kipd.sock";
  group = "kiptest";
  request_timeout_ms = ${KIP_TIMEOUT_MS:-2000};
  max_request_bytes = 65536;
};
log = { level = "debug"; syslog = false; };
organisation = { name = "${KIP_ORG_NAME:-Testkommune}"; mailbox = "kip@kommune.example"; };
users = (
  { user = "root"; role = "admin"; },
  { user = "daemon"; role = "coordinator"; contact = "karen.koordinator@kommune.example"; },
  { user = "bin"; role = "professional"; contact = "peter.psykiatri@region.example"; },
  { user = "sys"; role = "professional"; contact = "jonas.job@jobcenter.example"; }
);
${KIP_EXTRA_CONF:-}
CONF
	chmod 0600 "$TDIR/kipd.conf"
}

kip_start() {
	[ -f "$TDIR/kipd.conf" ] || kip_config
	# A socket left by a killed kipd must not count as the new one's.
	rm -f "$TDIR/kipd.sock"
	local ready0
	ready0=$(grep -c 'kipd ready' "$TDIR/kipd.log" 2>/dev/null)
	KIPD_LOG_FROM=1
	[ ! -f "$TDIR/kipd.log" ] || KIPD_LOG_FROM=$(($(wc -l <"$TDIR/kipd.log") + 1))
	# shellcheck disable=SC2086 # KIPD_WRAP is a command line, KIPD_ARGS words
	$KIPD_WRAP "$KIPD" -f -c "$TDIR/kipd.conf" $KIPD_ARGS 2>>"$TDIR/kipd.log" &
	KIPD_PID=$!
	for _ in $(seq 1 $((200 * KIP_TEST_SLOW))); do
		# The socket appears when it listens (control.c renames it
		# into place); under KIPD_WRAP (valgrind) the rest of the
		# start-up is slow enough to matter: wait for "kipd ready".
		[ -S "$TDIR/kipd.sock" ] && { [ -z "$KIPD_WRAP" ] ||
			[ "$(grep -c 'kipd ready' "$TDIR/kipd.log")" -gt "${ready0:-0}" ]; } &&
			return 0
		kill -0 "$KIPD_PID" 2>/dev/null || break
		sleep 0.02
	done
	echo "kipd did not start:" >&2
	cat "$TDIR/kipd.log" >&2
	return 1
}

# What the sanitizers and valgrind report. A report in kipd ends it with a
# non-zero status; one in a process kipd started (its helpers, the mail
# reader) ends that process only, and shows in kipd's log, which the
# processes share.
SAN_REPORT='ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error: '
SAN_REPORT+='|^==[0-9]+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised'
SAN_REPORT+='|Syscall param|Mismatched free|Source and destination overlap'
SAN_REPORT+='|Jump to the invalid address|Process terminating)|definitely lost in loss record'

kip_stop() {
	local report
	if [ -n "$KIPD_PID" ] && kill -0 "$KIPD_PID" 2>/dev/null; then
		kill -TERM "$KIPD_PID"
		wait "$KIPD_PID" 2>/dev/null
		local rc=$?
		# Sanitizer reports end the daemon with a non-zero status.
		if [ "$rc" -ne 0 ]; then
			fail "kipd exited cleanly (status $rc)" "$(tail -30 "$TDIR/kipd.log")"
		fi
	fi
	KIPD_PID=""
	if [ -n "${KIPD_LOG_FROM:-}" ]; then
		report=$(tail -n +"$KIPD_LOG_FROM" "$TDIR/kipd.log" 2>/dev/null | grep -E -A12 "$SAN_REPORT")
		[ -z "$report" ] || fail "no sanitizer or valgrind report from kipd's processes" "$report"
		KIPD_LOG_FROM=""
	fi
}

# The daemon is alive and answers.
check_alive() {
	check_out "${1:-kipd still serves}" "role: +admin" kipctl whoami
}

t_done() {
	kip_stop
	t_tally
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}
