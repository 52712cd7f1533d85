#!/usr/bin/env bash
# The scheduler over simulated months (kipd --test-clock): reminders 14
# and 1 days before a meeting, exactly once each, across repeated passes
# and a restart over a due time; fresh ones for a moved meeting, none for a
# cancelled one; the six-month rule's reminders to the coordinator, then
# the escalation when the plan is overdue (mail, event, plan list
# --overdue); none for a plan whose follow-up is scheduled. Mail goes
# through the real Postfix.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"
. "$ROOT/tests/clock_lib.sh"

mail_conf "$POSTFIX_URL" 'reminders = { offsets_days = "14,1"; followup_days = "30,7";
  escalation_address = "tilsyn@kommune.example"; };'

sed 's/offsets_days = "14,1"/offsets_days = "14,x"/' "$TDIR/kipd.conf" >"$TDIR/bad.conf"
chmod 0600 "$TDIR/bad.conf"
check_err "a malformed reminders.offsets_days is refused" "reminders.offsets_days" \
	"$KIPD" --check-config -c "$TDIR/bad.conf"
check_err "a test clock file that is not a number is refused" "test-clock" \
	bash -c "echo x >'$TDIR/badclock'; '$KIPD' -f -c '$TDIR/kipd.conf' --test-clock '$TDIR/badclock'"

rows() { # rows KIND PLAN [MEETING]: outbox rows of that kind
	sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = '$1'
	  AND plan_id = $2 ${3:+AND meeting_id = $3}"
}

kip_start
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example)
citizen() {
	local c
	c=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr "$1" \
		--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" \
		--email "$2" | jq -r .id)
	kipctl consent give "$c" --scope plan --date 2026-01-01 --document "J.nr. 1" >/dev/null
	kipctl --json plan create "$c" --basis psych-patient --coordinator "$K" | jq -r .id
}
PLAN=$(citizen 290256-5417 borger@borger.example)
kipctl plan member add "$PLAN" "$P" >/dev/null

# --- six-month rule: set up first, at clock 0 ------------------------------
# PLAN2: its latest version belongs to a meeting 10 days ago, no follow-up.
# PLAN3: the same, with a follow-up scheduled within the six months.
sixmonth_setup
version_plan() {
	local p=$1 m
	m=$(kipctl --json meeting schedule "$p" --start "$(local_time "$A")" --place "Rådhuset" | jq -r .id)
	kipctl plan version add "$p" --meeting "$m" --file "$TDIR/plan.yaml" >/dev/null
}
PLAN2=$(citizen 020150-5123 borger2@borger.example)
version_plan "$PLAN2"
PLAN3=$(citizen 030150-5123 borger3@borger.example)
version_plan "$PLAN3"
kipctl meeting schedule "$PLAN3" --start "$(kdate -d "$ADAY + 5 months" +%Y-%m-%d) 10:00" \
	--place "Rådhuset" >/dev/null
check_eq "six-month reminders are pending for the plan without follow-up" "3" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM sched_pending WHERE plan_id = $PLAN2")"
check_eq "none for the plan whose follow-up is scheduled" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM sched_pending WHERE plan_id = $PLAN3 AND kind <> 'reminder'")"

# --- reminders before a meeting ------------------------------------------
MT=$((NOW0 + 20 * DAY + 3 * 3600))
M=$(kipctl --json meeting schedule "$PLAN" --start "$(local_time "$MT")" --place "Rådhuset" | jq -r .id)
check_eq "scheduling sends no reminder" "0" "$(rows reminder "$PLAN")"
at $((MT - 14 * DAY - 600))
check_eq "ten minutes before the 14-day point nothing is due" "0" "$(run)"
at $((MT - 14 * DAY + 600))
check_eq "at the 14-day point one reminder is due" "1" "$(run)"
check_eq "it goes to the coordinator, the member and the citizen" "3" "$(rows reminder "$PLAN" "$M")"
check_eq "a second pass sends nothing" "0" "$(run)"
check_eq "still three reminder messages" "3" "$(rows reminder "$PLAN" "$M")"
outbox_drained "$PLAN" && pass "the reminders are sent" || fail "the reminders are sent"
mail_wait_count peter.psykiatri@region.example 2 20 &&
	pass "Peter received the invitation and the reminder" ||
	fail "Peter received the invitation and the reminder"
f=$(newest peter.psykiatri@region.example "Påmindelse")
check_eq "the reminder's subject is neutral" "Påmindelse: koordinationsmøde – ref KIP-$PLAN" \
	"$(python3 "$ROOT/tests/mailpart.py" "$f" header Subject)"
check_out "the signed text names ref, date and time" \
	"Påmindelse: koordinationsmøde \(ref. KIP-$PLAN\) den $(kdate -d "@$MT" +%d.%m.%Y) kl. $(kdate -d "@$MT" +%H:%M)" \
	bash -c "cat '$f' | python3 '$ROOT/tests/mailpart.py' - text"
check_eq "event reminder.sent recorded" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM event_log WHERE type = 'reminder.sent' AND plan_id = $PLAN")"

# A restart across the 1-day point: sent at start.
kip_stop
at $((MT - DAY + 600))
kip_start
for _ in $(seq 1 100); do [ "$(rows reminder "$PLAN" "$M")" = 6 ] && break; sleep 0.05; done
check_eq "the 1-day reminder that fell due while kipd was down goes out at start" "6" \
	"$(rows reminder "$PLAN" "$M")"
check_eq "and only once" "0" "$(run)"
check_eq "exactly one reminder per offset" "14,1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT group_concat(offset_days) FROM (SELECT offset_days FROM sched_done WHERE kind = 'reminder' AND meeting_id = $M ORDER BY offset_days DESC)")"
kip_stop
kip_start
check_eq "another restart sends nothing" "0" "$(run)"
check_eq "still six reminder messages" "6" "$(rows reminder "$PLAN" "$M")"

# A moved meeting gets fresh reminders, at its new time only.
M2T=$((NOW0 + 40 * DAY + 3 * 3600))
M2=$(kipctl --json meeting schedule "$PLAN" --start "$(local_time "$M2T")" --place "Rådhuset" | jq -r .id)
M2N=$((NOW0 + 50 * DAY + 3 * 3600))
kipctl meeting move "$M2" --start "$(local_time "$M2N")" >/dev/null
at $((M2T - 14 * DAY + 600))
run >/dev/null
check_eq "no reminder at the old time of a moved meeting" "0" "$(rows reminder "$PLAN" "$M2")"
at $((M2N - 14 * DAY + 600))
check_eq "one reminder at the new time" "1" "$(run)"
check_eq "to three recipients" "3" "$(rows reminder "$PLAN" "$M2")"

# A cancelled meeting gets none.
M3T=$((NOW0 + 70 * DAY + 3 * 3600))
M3=$(kipctl --json meeting schedule "$PLAN" --start "$(local_time "$M3T")" --place "Rådhuset" | jq -r .id)
kipctl meeting cancel "$M3" >/dev/null
at $((M3T - DAY + 600))
run >/dev/null
check_eq "a cancelled meeting gets no reminder" "0" "$(rows reminder "$PLAN" "$M3")"

# --- the six-month rule over the months ----------------------------------
check_eq "no follow-up reminder yet" "0" "$(rows followup "$PLAN2")"
at $((DEADLINE_S - 30 * DAY + 600))
run >/dev/null
check_eq "30 days before the deadline the coordinator is reminded" "1" "$(rows followup "$PLAN2")"
at $((DEADLINE_S - 7 * DAY + 600))
run >/dev/null
check_eq "7 days before, again" "2" "$(rows followup "$PLAN2")"
check_eq "not overdue yet" "0" "$(kipctl --json plan list --overdue | jq '.plans | length')"
at $((DEADLINE_S + DAY + 600))
run >/dev/null
check_eq "after the deadline the coordinator is told" "3" "$(rows followup "$PLAN2")"
check_eq "and the escalation address" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = 'followup' AND recipient = 'tilsyn@kommune.example'")"
check_eq "event followup.overdue emitted once" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM event_log WHERE type = 'followup.overdue' AND plan_id = $PLAN2")"
check_eq "plan list --overdue shows exactly that plan" "$PLAN2" \
	"$(kipctl --json plan list --overdue | jq -r '[.plans[].id] | join(",")')"
check_out "readable plan list --overdue" "OVERDUE" kipctl plan list --overdue
check_eq "nothing more on the next pass" "0" "$(run)"
check_eq "the plan with a follow-up got no six-month reminder" "0" "$(rows followup "$PLAN3")"
mail_wait_count tilsyn@kommune.example 1 60 && pass "the escalation mail arrives" ||
	fail "the escalation mail arrives"
f=$(newest tilsyn@kommune.example "Opfølgning overskredet")
check_out "the escalation names the plan and the deadline" "KIP-$PLAN2.*$DEADLINE" \
	bash -c "cat '$f' | python3 '$ROOT/tests/mailpart.py' - text"

# --- one clock for the whole of kipd -------------------------------------
# A year on by the test clock, the commands that compare with "now" go by
# it too: PAST is still ahead by the real clock, AHEAD by both.
at $((NOW0 + 365 * DAY))
PAST=$((NOW0 + 300 * DAY))
AHEAD=$((NOW0 + 400 * DAY))
MP=$(kipctl --json meeting schedule "$PLAN" --start "$(local_time "$PAST")" --place "Rådhuset" | jq -r .id)
check_eq "a meeting already past by the test clock is recorded without an invitation" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = 'invitation' AND meeting_id = $MP")"
check_out "meeting held is taken for it" "held" kipctl meeting held "$MP"
MA=$(kipctl --json meeting schedule "$PLAN" --start "$(local_time "$AHEAD")" --place "Rådhuset" | jq -r .id)
check_err "and refused for a meeting still ahead by the test clock" "starts in the future" \
	kipctl meeting held "$MA"
C4=$(kipctl --json citizen add --name "Bodil Testesen" --cpr 040150-5123 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
check_out "a consent dated in the real clock's future but the test clock's past is taken" "." \
	kipctl consent give "$C4" --scope plan --date "$(kdate -d "@$PAST" +%F)" --document "J.nr. 4"
check_err "one dated after the test clock's today is refused" "in the future" \
	kipctl consent give "$C4" --scope relatives --date "$(kdate -d "@$AHEAD" +%F)" --document "J.nr. 5"
check_eq "timestamps in the store are the test clock's" "$(date -u -d "@$((NOW0 + 365 * DAY))" +%Y-%m-%d)" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT substr(created_at, 1, 10) FROM meetings WHERE id = $MP")"
check_eq "and so are the events'" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM event_log WHERE type = 'meeting.held' AND at >= $((NOW0 + 365 * DAY - 60))")"
check_err "scheduler run is for admins" "needs the role admin" \
	as daemon "$KIPCTL" scheduler run
check_alive
t_done
