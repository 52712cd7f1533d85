#!/usr/bin/env bash
# Deviation reports from local users and the coordinator's follow-through,
# against the real mail servers: the coordinator is told at once,
# encrypted; the members who answer for the goal get it (automatically, or
# when the coordinator forwards it); list, show, ack; every refusal names
# its rule; nothing personal in clear.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"

mail_conf "$POSTFIX_URL"
kip_start

# Fictional people; the CPR number has a birth date in 2056.
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--phone "+45 70 10 20 31" --cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--organisation "Distriktspsykiatrien" --cert "$PKI/peter.psykiatri_at_region.example.pem")
J=$(add --name "Jonas Job" --email jonas.job@jobcenter.example \
	--organisation "Jobcentret" --cert "$PKI/jonas.job_at_jobcenter.example.pem")
O=$(add --name "Otto Udenfor" --email otto.udenfor@region.example)
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$J"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place "Rådhuset" | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null

check_err "no report before a version is approved" "rule approval" \
	as bin "$KIPCTL" deviation report "$PLAN" --goal 1 --text "Mødte ikke op."
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null
outbox_drained "$PLAN" || fail "the plan's distribution drains"
mail_settled || fail "Postfix delivers the plan's copies"
nk=$(count karen.koordinator@kommune.example)
nj=$(count jonas.job@jobcenter.example)
np=$(count peter.psykiatri@region.example)

# Peter (OS user bin) reports a deviation on goal 2, action 1.
TEXT="Bjarne udeblev fra to samtaler i DP; medicinen er ikke hentet."
D=$(as bin "$KIPCTL" --json deviation report "$PLAN" --goal 2 --action 1 --text "$TEXT" | jq -r .id)
[[ "$D" =~ ^[0-9]+$ ]] && pass "Peter's report is recorded (deviation $D)" ||
	fail "Peter's report is recorded" "$D"
show=$(kipctl --json deviation show "$D")
check_eq "it ties to version 1, goal 2, action 1" "1 2 1" "$(jq -r '"\(.version) \(.goal) \(.action)"' <<<"$show")"
check_eq "the reporter is Peter" "$P" "$(jq -r .reporter_id <<<"$show")"
check_eq "the channel is local" "local" "$(jq -r .channel <<<"$show")"
check_out "the verification names the OS user" "local user bin" jq -r .verification <<<"$show"
check_eq "the text is kept as written" "$TEXT" "$(jq -r .report <<<"$show")"
check_eq "auto: forwarded to Jonas only (not the reporter, not the coordinator)" "$J" \
	"$(jq -r '[.forwards[].contact_id] | join(",")' <<<"$show")"
check_eq "its state is forwarded" "forwarded" "$(jq -r .state <<<"$show")"
outbox_drained "$PLAN" || fail "the deviation's messages drain"
mail_wait_count karen.koordinator@kommune.example $((nk + 1)) 20 &&
	pass "Karen (coordinator) gets a message at once" || fail "Karen (coordinator) gets a message at once"
mail_wait_count jonas.job@jobcenter.example $((nj + 1)) 20 &&
	pass "Jonas gets the forward" || fail "Jonas gets the forward"
sleep 0.3
check_eq "Peter (the reporter) gets nothing" "$np" "$(count peter.psykiatri@region.example)"

f=$(newest karen.koordinator@kommune.example "Afvigelse")
check_out "the outer subject is neutral" "^Afvigelse – ref KIP-$PLAN$" \
	python3 "$ROOT/tests/mailpart.py" "$f" header Subject
check_out "the message is encrypted" "application/pkcs7-mime" \
	python3 "$ROOT/tests/mailpart.py" "$f" header Content-Type
! grep -qE "Bjarne|Testesen|udeblev|medicinen" "$f" &&
	pass "nothing of the report is in clear" || fail "nothing of the report is in clear"
body=$(decrypt "$f" "$PKI/karen.koordinator_at_kommune.example.pem" \
	"$PKI/karen.koordinator_at_kommune.example.key")
check_out "Karen reads the report text" "udeblev fra to samtaler" echo "$body"
check_out "with the goal it concerns" "^Mål 2: " echo "$body"
check_out "and the action" "^Indsats 1: " echo "$body"
check_out "and who reported it" "Indberettet af: Peter Psykiatri, Distriktspsykiatrien" echo "$body"
check_out "and what the coordinator can do" "kipctl deviation ack $D" echo "$body"
g=$(newest jonas.job@jobcenter.example "Afvigelse")
jb=$(decrypt "$g" "$PKI/jonas.job_at_jobcenter.example.pem" "$PKI/jonas.job_at_jobcenter.example.key")
check_out "Jonas reads why he gets it" "ansvar for mål 2" echo "$jb"

# Rules: each refusal names what is wrong.
check_err "a goal the version lacks is refused" "rule goal: version 1 of plan $PLAN has goals 1 to" \
	as bin "$KIPCTL" deviation report "$PLAN" --goal 9 --text "x"
check_err "an action the goal lacks is refused" "rule goal: goal 1 of version 1 has actions" \
	as bin "$KIPCTL" deviation report "$PLAN" --goal 1 --action 42 --text "x"
check_err "an empty text is refused" "'text' is empty" \
	as bin "$KIPCTL" deviation report "$PLAN" --goal 1 --text ""
check_err "a report without text is refused" "text" \
	as bin "$KIPCTL" deviation report "$PLAN" --goal 1
P2=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
check_err "a non-member cannot report on a plan" "forbidden|rule network" \
	as bin "$KIPCTL" deviation report "$P2" --goal 1 --text "x"
check_err "an admin acting as no contact cannot report" "acts as no contact" \
	kipctl deviation report "$PLAN" --goal 1 --text "x"
check_err "a member cannot acknowledge (only the coordinator)" "only the coordinator" \
	as bin "$KIPCTL" deviation ack "$D"
check_err "a second forward to the same member is refused" "already forwarded" \
	as daemon "$KIPCTL" deviation forward "$D" --to "$J"
check_err "a forward to a non-member is refused" "rule network" \
	as daemon "$KIPCTL" deviation forward "$D" --to "$O"
# A member without a certificate: the forward itself needs manual delivery
# (a neutral notice asks them to contact the coordinator); deviation show
# reports the forward's own message, not the notice's.
kipctl plan member add "$PLAN" "$O" >/dev/null
as daemon "$KIPCTL" deviation forward "$D" --to "$O" >/dev/null
check_eq "a forward that needs manual delivery shows so, with the reason" "manual: no certificate" \
	"$(kipctl --json deviation show "$D" | jq -r --argjson o "$O" '.forwards[] | select(.contact_id == $o) | "\(.message_state): \(.message_reason)"')"
kipctl plan member remove "$PLAN" "$O" >/dev/null

# Routes: goal 1 is Peter's; Jonas reports on it.
check_out "the coordinator routes goal 1 to Peter" '"to": \[' \
	as daemon "$KIPCTL" --json deviation route "$PLAN" --goal 1 --to "$P"
D2=$(as sys "$KIPCTL" --json deviation report "$PLAN" --goal 1 --text "Jobsamtalen blev aflyst." | jq -r .id)
check_eq "a routed goal goes to its route only" "$P" \
	"$(kipctl --json deviation show "$D2" | jq -r '[.forwards[].contact_id] | join(",")')"

# Listing: by plan and state, only plans the caller may read.
check_eq "two open deviations on the plan" "2" \
	"$(kipctl --json deviation list --plan "$PLAN" --state open | jq '.deviations | length')"
check_out "the coordinator acknowledges" '"state": "acknowledged"' \
	as daemon "$KIPCTL" --json deviation ack "$D"
check_err "twice is a conflict" "already acknowledged" as daemon "$KIPCTL" deviation ack "$D"
check_eq "one open deviation left" "$D2" \
	"$(kipctl --json deviation list --state open | jq -r '[.deviations[].id] | join(",")')"
check_eq "Peter sees both (he is a member)" "2" \
	"$(as bin "$KIPCTL" --json deviation list | jq '.deviations | length')"
check_out "the audit trail records the report and the reads" "deviation.report.*ok" \
	kipctl audit --citizen "$C"
# (two automatic forwards, and the one to Otto above)
check_eq "events: 2 received, 3 forwarded" "2 3" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT (SELECT count(*) FROM event_log WHERE type = 'deviation.received') || ' ' || (SELECT count(*) FROM event_log WHERE type = 'deviation.forwarded')")"

# deviations.forward = "coordinator": nothing goes on until forwarded.
kip_stop
mail_conf "$POSTFIX_URL" 'deviations = { forward = "coordinator"; };'
kip_start
D3=$(as bin "$KIPCTL" --json deviation report "$PLAN" --goal 3 --text "Ingen kontakt i ugen." | jq -r .id)
check_eq "coordinator mode: no automatic forward" "0" \
	"$(kipctl --json deviation show "$D3" | jq '.forwards | length')"
check_eq "and the state stays new" "new" "$(kipctl --json deviation show "$D3" | jq -r .state)"
as daemon "$KIPCTL" deviation forward "$D3" --to "$J" >/dev/null
check_eq "the coordinator forwards it to Jonas" "$J" \
	"$(kipctl --json deviation show "$D3" | jq -r '[.forwards[].contact_id] | join(",")')"

# Consent withdrawn: no new reports.
kipctl consent withdraw "$C" --scope plan --date 2026-11-20 --document "Brev" >/dev/null
check_err "after withdrawal reports are refused" "rule consent" \
	as bin "$KIPCTL" deviation report "$PLAN" --goal 1 --text "x"
check_alive
kip_stop
t_done
