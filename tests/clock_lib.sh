# clock_lib.sh — the test clock of the scheduler's tests (sourced after
# lib.sh): kipd started by kip_start reads "now" as the real time plus the
# offset in $CLOCK, which at() sets.
CLOCK=$TDIR/clock
echo 0 >"$CLOCK"
KIPD_ARGS="--test-clock $CLOCK"
NOW0=$(date +%s)
DAY=86400
# at EPOCH: kipd's scheduler clock reads EPOCH now.
at() { echo $(($1 - $(date +%s))) >"$CLOCK"; }
# run: scheduler.run now; prints how many jobs were due.
run() { kipctl --json scheduler run | jq -r .due; }
local_time() { date -d "@$1" '+%Y-%m-%d %H:%M'; }

# sixmonth_setup: a meeting 10 days before NOW0 (A, and its day ADAY), the
# six-month deadline of a plan version approved at it (DEADLINE, and
# DEADLINE_S at its midnight), and $TDIR/plan.yaml, the Bilag 2 plan with
# its own follow-up three months after that meeting.
sixmonth_setup() {
	A=$((NOW0 - 10 * DAY))
	ADAY=$(date -d "@$A" +%Y-%m-%d)
	DEADLINE=$(date -d "$ADAY + 6 months" +%Y-%m-%d)
	DEADLINE_S=$(date -d "$DEADLINE 00:00" +%s)
	sed "s/^follow_up: .*/follow_up: $(date -d "$ADAY + 3 months" +%Y-%m-%d)/" \
		"$FIXTURES/bilag2.yaml" >"$TDIR/plan.yaml"
}
