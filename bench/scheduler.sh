#!/usr/bin/env bash
# bench/scheduler.sh [BUILD_DIR] [N]: the scheduler with N plans (default
# 100,000), written straight into a stopped kipd's database: each plan
# has a version whose meeting lies ahead (15 days + 5 minutes per plan),
# so every plan has two meeting reminders and three six-month rows
# pending. Figures:
#   fill      kipd's one-time scheduling of every plan at its first start
#   pass      kipctl scheduler run with the test clock 1 day + 1 hour
#             ahead (a dozen reminders due), median of 5 runs at
#             successive hours; and with nothing due
#   idle CPU  kipd's utime+stime (/proc/PID/stat) and on-CPU time
#             (/proc/PID/schedstat) over 60 s without requests
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
N=${2:-100000}
IDLE_S=${KIP_BENCH_IDLE_S:-60}
TDIR=$(mktemp -d /tmp/kip-bench-sched.XXXXXX)
chmod 0755 "$TDIR"
KIPD=$ROOT/$BUILD/kipd
KIPCTL=$ROOT/$BUILD/kipctl
export KIP_SOCKET=$TDIR/kipd.sock
KIPD_PID=""
cleanup() {
	[ -n "$KIPD_PID" ] && kill "$KIPD_PID" 2>/dev/null && wait "$KIPD_PID" 2>/dev/null
	[ -n "${KIP_BENCH_KEEP:-}" ] || rm -rf "$TDIR"
}
trap cleanup EXIT
cat >"$TDIR/kipd.conf" <<CONF
store = { path = "$TDIR/kip.db"; };
control = { socket = "$TDIR/kipd.sock"; };
log = { level = "${KIP_BENCH_LOG:-info}"; syslog = false; };
users = ( { user = "$(id -un)"; role = "admin"; } );
CONF
chmod 0600 "$TDIR/kipd.conf"
echo 0 >"$TDIR/clock"

start_kipd() {
	rm -f "$KIP_SOCKET"
	"$KIPD" -f -c "$TDIR/kipd.conf" --test-clock "$TDIR/clock" 2>>"$TDIR/kipd.log" &
	KIPD_PID=$!
	until "$KIPCTL" whoami >/dev/null 2>&1; do sleep 0.01; done
}
stop_kipd() {
	kill "$KIPD_PID"
	wait "$KIPD_PID" || true
	KIPD_PID=""
}

start_kipd # creates the schema
stop_kipd
NOW=$(date +%s)
t0=$(date +%s.%N)
# Meeting times are local to kipd's timezone (its default).
TZ=Europe/Copenhagen sqlite3 "$TDIR/kip.db" <<SQL
PRAGMA foreign_keys = OFF;
BEGIN;
INSERT INTO contacts (id, kind, name, email, created_at, created_by)
 VALUES (1, 'professional', 'K', 'k@kommune.example', '2026-01-01T00:00:00Z', 'bench');
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO citizens (id, name, cpr, address, phone, created_at, created_by)
 SELECT i, 'C', printf('%06d-%04d', i, i % 10000), 'A', 'P', '2026-01-01T00:00:00Z', 'bench' FROM n;
INSERT INTO consents (citizen_id, scope, action, date, recorded_by, recorded_at)
 SELECT id, 'plan', 'given', '2026-01-01', 'bench', '2026-01-01T00:00:00Z' FROM citizens;
INSERT INTO plans (id, citizen_id, basis, coordinator_id, created_at, created_by)
 SELECT id, id, 1, 1, '2026-01-01T00:00:00Z', 'bench' FROM citizens;
INSERT INTO plan_members (plan_id, contact_id, added_at, added_by)
 SELECT id, 1, '2026-01-01T00:00:00Z', 'bench' FROM plans;
INSERT INTO meetings (id, plan_id, starts_at, duration_min, place, created_at, created_by)
 SELECT id, id, strftime('%Y-%m-%dT%H:%M', $NOW + 15 * 86400 + id * 300, 'unixepoch', 'localtime'),
  90, 'R', '2026-01-01T00:00:00Z', 'bench' FROM plans;
INSERT INTO plan_versions (plan_id, version, meeting_id, document, follow_up, coordinator_id, created_at, created_by)
 SELECT id, 1, id, 'x', '2027-12-31', 1, '2026-01-01T00:00:00Z', 'bench' FROM plans;
DELETE FROM sched_state;
COMMIT;
SQL
printf 'insert %d plans: %.1f s\n' "$N" "$(echo "$(date +%s.%N) - $t0" | bc)"

start_kipd
grep -o 'scheduler: [0-9]* plans scheduled in [0-9]* ms' "$TDIR/kipd.log" | tail -1 |
	sed 's/^scheduler: /fill (once, at first start): /'
echo "pending rows: $(sqlite3 "$TDIR/kip.db" 'SELECT count(*) FROM sched_pending')"

# Passes with work due: the clock 1 day + H hours ahead.
res=()
for h in 1 2 3 4 5; do
	echo $((86400 + h * 3600)) >"$TDIR/clock"
	res+=("$("$KIPCTL" --json scheduler run | jq -r '"\(.ms) \(.due)"')")
done
printf '%s\n' "${res[@]}" | sort -n | sed -n 3p |
	awk '{ printf "pass with work due: %.3f ms (%d due; median of 5)\n", $1, $2 }'
nothing=$("$KIPCTL" --json scheduler run | jq -r .ms)
printf 'pass with nothing due: %.3f ms\n' "$nothing"

# Idle CPU.
cpu() { awk '{ print $14 + $15 }' "/proc/$KIPD_PID/stat"; }
oncpu() { awk '{ print $1 }' "/proc/$KIPD_PID/schedstat"; }
tck=$(getconf CLK_TCK)
c0=$(cpu) s0=$(oncpu)
sleep "$IDLE_S"
c1=$(cpu) s1=$(oncpu)
echo "idle ${IDLE_S} s: utime+stime $(( (c1 - c0) * 1000 / tck )) ms, on-CPU $(( (s1 - s0) / 1000 )) µs"
