#!/usr/bin/env bash
# A plan whose consent is withdrawn crosses its six-month follow-up
# deadline under the test clock, against the real Postfix: no follow-up
# reminder, no escalation (coordinator or escalation address), no meeting
# reminder, not even from a row left pending from before; instead the
# coordinator gets one neutral notice at the deadline that the follow-up is
# paused and the plan should be offered again, and plan status shows the
# watch paused with the withdrawal's date. Consent given again resumes the
# watch from the same anchor: the overdue escalation, the meeting reminder
# still ahead. A plan beside it with consent gets its reminders as usual.
# Mail is counted from the Maildirs by Subject and Message-ID.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"
. "$ROOT/tests/clock_lib.sh"

ESC=tilsyn@kommune.example
mail_conf "$POSTFIX_URL" "reminders = { offsets_days = \"14,1\"; followup_days = \"30,7\";
  escalation_address = \"$ESC\"; };"

q() { sqlite3 "$TDIR/kip.db" "$1"; }
TODAY=$(kdate +%Y-%m-%d)

# n_mail ADDR SUBJECT: distinct Message-IDs in ADDR's Maildir with SUBJECT.
n_mail() {
	local f
	for f in $(mail_files "$1"); do
		[ "$(python3 "$ROOT/tests/mailpart.py" "$f" header Subject)" = "$2" ] &&
			python3 "$ROOT/tests/mailpart.py" "$f" header Message-ID
	done | sort -u | grep -c . || true
}
# delivered ADDR: ADDR's Maildir holds every message sent to it (Postfix
# delivers after it accepts).
delivered() {
	[ "$(count "$1")" -ge "$(q "SELECT count(*) FROM outbox WHERE
	  state = 'sent' AND lower(recipient) = lower('$1')")" ]
}
# settled ADDR...: nothing is left to send, and every ADDR has its mail.
settled() {
	local a ok
	for _ in $(seq 1 300); do
		ok=$(q "SELECT count(*) = 0 FROM outbox
		  WHERE state IN ('queued', 'sending', 'deferred')")
		for a in "$@"; do
			[ "$ok" = 1 ] && delivered "$a" || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}

kip_start
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem")
KM=karen.koordinator@kommune.example
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example)
PM=peter.psykiatri@region.example

# Two plans whose latest version belongs to a meeting 10 days ago, with no
# follow-up meeting by the deadline; WPLAN's citizen will withdraw.
sixmonth_setup
plan() {
	local c p m
	c=$(kipctl --json citizen add --name "$1" --cpr "$2" \
		--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" \
		--email "$3" | jq -r .id)
	kipctl consent give "$c" --scope plan --date 2026-01-01 --document "J.nr. 1" >/dev/null
	p=$(kipctl --json plan create "$c" --basis psych-patient --coordinator "$K" | jq -r .id)
	kipctl plan member add "$p" "$P" >/dev/null
	m=$(kipctl --json meeting schedule "$p" --start "$(local_time "$A")" --place "Rådhuset" | jq -r .id)
	kipctl plan version add "$p" --meeting "$m" --file "$TDIR/plan.yaml" >/dev/null
	echo "$c $p $m"
}
read -r WCIT WPLAN WANCHOR < <(plan "Bjarne Testesen" 020150-5123 borger.w@borger.example)
read -r _ CPLAN _ < <(plan "Grethe Prøvesen" 030150-5124 borger.c@borger.example)
# A meeting of WPLAN after the deadline (it does not meet it): its 14-day
# reminder falls in the withdrawal, its 1-day reminder after consent is
# given again.
MT=$((DEADLINE_S + 10 * DAY + 10 * 3600))
M=$(kipctl --json meeting schedule "$WPLAN" --start "$(local_time "$MT")" --place "Rådhuset" | jq -r .id)
check_eq "before the withdrawal: two follow-up reminders, the escalation and two meeting reminders pending" \
	"followup:30,followup:7,overdue:0,reminder:1,reminder:14" \
	"$(q "SELECT group_concat(x) FROM (SELECT kind || ':' || offset_days AS x
	  FROM sched_pending WHERE plan_id = $WPLAN ORDER BY x)")"
check_eq "plan status: the watch is running, with the deadline" "running $DEADLINE" \
	"$(kipctl --json plan status "$WPLAN" | jq -r '.follow_up | "\(.watch) \(.deadline)"')"

kipctl consent withdraw "$WCIT" --scope plan --date "$TODAY" >/dev/null
check_eq "withdrawn: only the paused notice is pending, at the deadline" \
	"followup:0:$WANCHOR:$DEADLINE_S" \
	"$(q "SELECT group_concat(kind || ':' || offset_days || ':' || meeting_id || ':' || due_at)
	  FROM sched_pending WHERE plan_id = $WPLAN")"
check_eq "plan status: the watch is paused, with the withdrawal's date" \
	"paused $DEADLINE $TODAY" \
	"$(kipctl --json plan status "$WPLAN" | jq -r '.follow_up | "\(.watch) \(.deadline) \(.consent_withdrawn)"')"
check_out "readable plan status says paused" "paused" kipctl plan status "$WPLAN"

# A row left pending from before (as an older kipd left it) is checked
# when it falls due: it does not fire, and is not recorded as done.
q "INSERT OR REPLACE INTO sched_pending (kind, plan_id, meeting_id, sequence, offset_days,
  due_at) VALUES ('followup', $WPLAN, $WANCHOR, 0, 7, 0)"
run >/dev/null
check_eq "a follow-up reminder left pending for the withdrawn plan does not fire" "0" \
	"$(q "SELECT count(*) FROM outbox WHERE plan_id = $WPLAN AND kind = 'followup'")"
check_eq "and is not recorded as done" "0" \
	"$(q "SELECT count(*) FROM sched_done WHERE plan_id = $WPLAN AND kind = 'followup'")"

# Across the follow-up reminders, the meeting reminder and the deadline;
# kipd down over the deadline itself.
for t in $((DEADLINE_S - 30 * DAY + 600)) $((DEADLINE_S - 7 * DAY + 600)) \
	$((MT - 14 * DAY + 600)) $((DEADLINE_S - 600)); do
	at "$t"
	run >/dev/null
done
check_eq "nothing is queued for the withdrawn plan before its deadline" "0" \
	"$(q "SELECT count(*) FROM outbox WHERE plan_id = $WPLAN AND kind IN ('followup', 'reminder')")"
check_eq "the plan with consent got its two follow-up reminders" "2" \
	"$(q "SELECT count(*) FROM outbox WHERE plan_id = $CPLAN AND kind = 'followup'")"
kip_stop
at $((DEADLINE_S + 600))
kip_start
for _ in $(seq 1 100); do
	[ "$(q "SELECT count(*) FROM outbox WHERE plan_id = $WPLAN AND kind = 'followup'")" = 1 ] && break
	sleep 0.05
done
at $((DEADLINE_S + DAY + 600))
run >/dev/null
at $((DEADLINE_S + DAY + 3600))
check_eq "a second pass past the deadline sends nothing" "0" "$(run)"
check "every mail is delivered" settled "$KM" "$ESC" "$PM"

S_REM="Påmindelse: opfølgningsmøde – ref KIP-$WPLAN"
S_OVER="Opfølgning overskredet – ref KIP-$WPLAN"
S_PAUSE="Opfølgning sat i bero – ref KIP-$WPLAN"
S_MEET="Påmindelse: koordinationsmøde – ref KIP-$WPLAN"
check_eq "the coordinator got no follow-up reminder for the withdrawn plan" "0" "$(n_mail "$KM" "$S_REM")"
check_eq "the coordinator got no escalation for it" "0" "$(n_mail "$KM" "$S_OVER")"
check_eq "the escalation address got none" "0" "$(n_mail "$ESC" "$S_OVER")"
check_eq "no meeting reminder to the coordinator" "0" "$(n_mail "$KM" "$S_MEET")"
check_eq "no meeting reminder to the member" "0" "$(n_mail "$PM" "$S_MEET")"
check_eq "the coordinator got the paused notice once" "1" "$(n_mail "$KM" "$S_PAUSE")"
check_eq "the escalation address did not" "0" "$(n_mail "$ESC" "$S_PAUSE")"
check_eq "the plan with consent: two reminders to the coordinator" "2" \
	"$(n_mail "$KM" "Påmindelse: opfølgningsmøde – ref KIP-$CPLAN")"
check_eq "and its escalation to the escalation address" "1" \
	"$(n_mail "$ESC" "Opfølgning overskredet – ref KIP-$CPLAN")"
f=$(newest "$KM" "$S_PAUSE") || f=/dev/null
TEXT=$(python3 "$ROOT/tests/mailpart.py" "$f" text 2>&1)
check_out "the notice names the plan, the deadline and the withdrawal" \
	"KIP-$WPLAN har frist for opfølgningsmøde den $DEADLINE.*Samtykket til planen er trukket tilbage" \
	echo "$TEXT"
check_out "and asks for the plan to be offered again" "Tilbyd borgeren planen igen senere" echo "$TEXT"
check_eq "and holds no name, CPR number or address" "0" \
	"$(if [ -n "$TEXT" ]; then grep -ciE "Bjarne|Testesen|020150|Prøvevej|borger\.w|psyk|misbrug|diagnos" <<<"$TEXT";
	else echo "no notice"; fi)"
check_eq "event followup.paused once, followup.overdue never, for the withdrawn plan" "1 0" \
	"$(q "SELECT count(*) FILTER (WHERE type = 'followup.paused'),
	  count(*) FILTER (WHERE type = 'followup.overdue') FROM event_log WHERE plan_id = $WPLAN" | tr '|' ' ')"
check_eq "plan list --overdue shows the plan with consent, not the withdrawn one" "$CPLAN" \
	"$(kipctl --json plan list --overdue | jq -r '[.plans[].id] | join(",")')"

# Consent again, two days past the deadline: the watch resumes from the
# same anchor, so the plan is overdue at once and reported once.
at $((DEADLINE_S + 2 * DAY + 600))
kipctl consent give "$WCIT" --scope plan --date "$TODAY" --document "J.nr. 2" >/dev/null
run >/dev/null # (the timer may have been first: it was due at once)
check_eq "consent again: the escalation is sent at once, once" "1" \
	"$(q "SELECT count(*) FROM event_log WHERE type = 'followup.overdue' AND plan_id = $WPLAN")"
check_eq "and the meeting's 1-day reminder is pending" "reminder:1:$M" \
	"$(q "SELECT group_concat(kind || ':' || offset_days || ':' || meeting_id)
	  FROM sched_pending WHERE plan_id = $WPLAN")"
at $((MT - DAY + 600))
run >/dev/null
check_eq "the meeting reminder still ahead goes to coordinator, member and citizen" "3" \
	"$(q "SELECT count(*) FROM outbox WHERE kind = 'reminder' AND meeting_id = $M")"
check "every mail is delivered" settled "$KM" "$ESC" "$PM"
check_eq "the coordinator got the escalation once" "1" "$(n_mail "$KM" "$S_OVER")"
check_eq "and the escalation address" "1" "$(n_mail "$ESC" "$S_OVER")"
check_eq "still no follow-up reminder (they were due in the withdrawal)" "0" "$(n_mail "$KM" "$S_REM")"
check_eq "the member got the 1-day meeting reminder only" "1" "$(n_mail "$PM" "$S_MEET")"
check_eq "still one paused notice" "1" "$(n_mail "$KM" "$S_PAUSE")"
check_eq "plan status: the watch is overdue" "overdue" \
	"$(kipctl --json plan status "$WPLAN" | jq -r .follow_up.watch)"
check_eq "plan list --overdue shows both plans" "$WPLAN,$CPLAN" \
	"$(kipctl --json plan list --overdue | jq -r '[.plans[].id] | sort | join(",")')"
check_alive
t_done
