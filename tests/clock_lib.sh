# clock_lib.sh — the test clock of the scheduler's tests (sourced after
# lib.sh): kipd started by kip_start reads "now" as the real time plus the
# offset in $CLOCK, which at() sets.
#
# kipd's local times are in its configured zone, KIP_TZ (the default of
# timezone), whatever TZ it runs with; these suites pass on a host in any
# zone (tests/run.sh runs them under TZ=UTC and TZ=Asia/Tokyo), so every
# local time or date they give kipd or expect from it is KIP_TZ's: kdate.
KIP_TZ=Europe/Copenhagen
kdate() { TZ=$KIP_TZ date "$@"; }
CLOCK=$TDIR/clock
echo 0 >"$CLOCK"
KIPD_ARGS="--test-clock $CLOCK"
NOW0=$(date +%s)
DAY=86400
# at EPOCH: kipd's scheduler clock reads EPOCH now.
at() { echo $(($1 - $(date +%s))) >"$CLOCK"; }
# run: scheduler.run now; prints how many jobs were due.
run() { kipctl --json scheduler run | jq -r .due; }
local_time() { kdate -d "@$1" '+%Y-%m-%d %H:%M'; }

# sixmonth_setup: a meeting 10 days before NOW0 (A, and its day ADAY), the
# six-month deadline of a plan version approved at it (DEADLINE, and
# DEADLINE_S at its midnight), and $TDIR/plan.yaml, the Bilag 2 plan with
# its own follow-up three months after that meeting.
sixmonth_setup() {
	A=$((NOW0 - 10 * DAY))
	ADAY=$(kdate -d "@$A" +%Y-%m-%d)
	DEADLINE=$(kdate -d "$ADAY + 6 months" +%Y-%m-%d)
	DEADLINE_S=$(kdate -d "$DEADLINE 00:00" +%s)
	sed "s/^follow_up: .*/follow_up: $(kdate -d "$ADAY + 3 months" +%Y-%m-%d)/" \
		"$FIXTURES/bilag2.yaml" >"$TDIR/plan.yaml"
}
