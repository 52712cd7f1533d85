#!/usr/bin/env bash
# The queue, for operators (docs/OPERATIONS.md, "The queue"): kipctl outbox
# list, counts, retry and cancel, against the real Postfix.
#
# A plan is approved while the relay stalls (the recorder in stall mode:
# it accepts the TCP connection and never answers); its messages time out
# and are deferred, the next attempt an hour away (smtp.retry_first_s =
# 3600), so nothing tries again on its own while the test runs. One
# message is cancelled while it is being sent, another once deferred. Then
# kipd is reloaded onto the working Postfix: a marker plan sent after the
# reload arrives, and the deferred messages still wait (a reload, like a
# restart, keeps each row's next attempt). Only kipctl outbox retry can
# send them: one by its id, the rest with --all-deferred; each arrives at
# once and exactly once (its Message-ID in one Maildir file and in one
# line of Postfix's log), and the cancelled ones never. Along the way:
# the list and the counts, human and --json, the filters, the refusals
# and the audit trail.
#
# Every person is fictional; the CPR numbers have birth dates in the 2050s
# (serial digits 5xxx), so none can belong to anyone.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"

db() { sqlite3 -cmd '.timeout 5000' "$TDIR/kip.db" "$@"; }
today=$(date +%F)
MEET_DAY=$(date -d '-7 days' +%F)
sed "s/^follow_up: .*/follow_up: $(date -d '+80 days' +%F)/" "$FIXTURES/bilag2.yaml" >"$TDIR/plan.yaml"
KADDR=karen.koordinator@kommune.example
PADDR=peter.psykiatri@region.example
JADDR=jonas.job@jobcenter.example
OADDR=ole.udencert@kommune.example
BADDR=borger@borger.example
CPR=120452-5201

# Retries an hour apart; a stalled transfer gives up after 5 s; six
# connections take the plan's five messages at once.
MAIL_RETRY_S="3600 3600"
MAIL_TIMEOUT_S=5
MAIL_CONNECTIONS=6

# wait_for SECONDS CMD...: until CMD succeeds (polling).
wait_for() {
	local end=$((SECONDS + $1 * KIP_TEST_SLOW))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
state_of() { db "SELECT state FROM outbox WHERE id = $1"; }
is_state() { [ "$(state_of "$1")" = "$2" ]; }
msgid() { db "SELECT message_id FROM outbox WHERE id = $1"; }
# copies MESSAGE-ID: how many delivered messages (any recipient's Maildir) carry it.
copies() {
	# Not the function mailbox's: a delivery report there returns the
	# message's headers, Message-ID included.
	find "$MAILDIRS" -type f \( -path '*/new/*' -o -path '*/cur/*' \) \
		-not -path "$MAILDIRS/kip@kommune.example/*" -print0 |
		xargs -0 -r grep -lF -- "$1" | grep -c . || true
}
# logged MESSAGE-ID: how many messages Postfix took with it (cleanup's
# "message-id=" line, once per message it accepted).
logged() { grep -cF -- "message-id=$1" "$POSTFIX_LOG" || true; }
arrived() { [ "$(copies "$(msgid "$1")")" -ge 1 ]; }
# reload_onto URL: kipd sends through URL after a SIGHUP.
reloads() { grep -c 'configuration reloaded' "$TDIR/kipd.log"; }
reloaded_since() { [ "$(reloads)" -gt "$1" ]; }
reload_onto() {
	local n
	n=$(reloads)
	mail_conf "$1"
	kill -HUP "$KIPD_PID"
	wait_for 60 reloaded_since "$n"
}

# --- the network, while the relay stalls ------------------------------------

mail_recorder_mode stall
mail_conf "$PLAIN_URL"
kip_start
K=$(kipctl --json contact add --kind professional --name "Karen Koordinator" \
	--email "$KADDR" --cert "$PKI/karen.koordinator_at_kommune.example.pem" | jq -r .id)
PE=$(kipctl --json contact add --kind professional --name "Peter Psykiatri" \
	--email "$PADDR" --cert "$PKI/peter.psykiatri_at_region.example.pem" | jq -r .id)
J=$(kipctl --json contact add --kind professional --name "Jonas Job" \
	--email "$JADDR" --cert "$PKI/jonas.job_at_jobcenter.example.pem" | jq -r .id)
# Without a certificate: a signed neutral notice, and the plan by hand.
O=$(kipctl --json contact add --kind professional --name "Ole Udencert" \
	--email "$OADDR" | jq -r .id)
C=$(kipctl --json citizen add --name "Bente Borgersen" --cpr "$CPR" \
	--address "Køvej 4, 9999 Testby" --phone "+45 20 30 40 51" \
	--email "$BADDR" --cert "$PKI/borger_at_borger.example.pem" | jq -r .id)
kipctl consent give "$C" --scope plan --date "$today" --document "J.nr. Q-1" >/dev/null
P=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$PE" "$J" "$O"; do kipctl plan member add "$P" "$m" >/dev/null; done
MT=$(kipctl --json meeting schedule "$P" --start "$MEET_DAY 10:00" --place "Mødelokale 3" | jq -r .id)
kipctl plan version add "$P" --meeting "$MT" --file "$TDIR/plan.yaml" >/dev/null
# The marker: another citizen's plan (no address: the citizen's is by
# hand), approved after the reload to show that kipd sends again.
MC=$(kipctl --json citizen add --name "Mads Markørsen" --cpr 130452-5202 \
	--address "Markørvej 1, 9999 Testby" --phone "+45 20 30 40 52" | jq -r .id)
kipctl consent give "$MC" --scope plan --date "$today" --document "J.nr. Q-2" >/dev/null
MP=$(kipctl --json plan create "$MC" --basis psych-patient --coordinator "$K" | jq -r .id)
MM=$(kipctl --json meeting schedule "$MP" --start "$MEET_DAY 12:00" --place "Mødelokale 3" | jq -r .id)
kipctl plan version add "$MP" --meeting "$MM" --file "$TDIR/plan.yaml" >/dev/null

check "the plan is approved while the relay stalls" \
	kipctl plan approve "$P" --version 1 --how meeting --date "$MEET_DAY"
W="plan_id = $P AND version = 1"
row() { db "SELECT id FROM outbox WHERE $W AND $1"; }
KROW=$(row "contact_id = $K")
PROW=$(row "contact_id = $PE")
JROW=$(row "contact_id = $J")
OROW=$(row "contact_id = $O AND kind = 'notice'")
OMAN=$(row "contact_id = $O AND state = 'manual'")
BROW=$(row "contact_id IS NULL")
check_eq "six messages: five to send, Ole's plan by hand" "6 1" \
	"$(db "SELECT count(*) FROM outbox WHERE $W") $(db "SELECT count(*) FROM outbox WHERE $W AND state = 'manual'")"

# --- cancel while being sent --------------------------------------------------

wait_for 30 is_state "$BROW" sending &&
	pass "the citizen's message is being sent to the stalled relay" ||
	fail "the citizen's message is being sent to the stalled relay" "$(state_of "$BROW")"
check_out "outbox cancel of a message being sent: cancelled at once" \
	"^state: +cancelled" kipctl outbox cancel "$BROW" --reason "Borgeren henter planen selv"
check_eq "right after the reply the row is cancelled, with the administrator's reason" \
	"cancelled|by an administrator: Borgeren henter planen selv" \
	"$(db "SELECT state || '|' || reason FROM outbox WHERE id = $BROW")"
check_eq "nothing is kept to build it from" "0" \
	"$(db "SELECT count(*) FROM outbox_sealed WHERE id = $BROW")"

# --- deferred, the next attempt an hour away ----------------------------------

all_deferred() { [ "$(db "SELECT count(*) FROM outbox WHERE id IN ($KROW, $PROW, $JROW, $OROW) AND state = 'deferred'")" = 4 ]; }
wait_for 120 all_deferred && pass "the four others time out and are deferred" ||
	fail "the four others time out and are deferred" "$(db "SELECT id, state, reason FROM outbox WHERE $W")"
check_eq "each waits an hour for its next attempt" "4" \
	"$(db "SELECT count(*) FROM outbox WHERE $W AND state = 'deferred' AND next_attempt_at > strftime('%s', 'now') + 3000")"
check_eq "and the cancelled one stays cancelled" "cancelled" "$(state_of "$BROW")"

# --- outbox list ---------------------------------------------------------------

LIST=$(kipctl --json outbox list)
check_eq "outbox list --json: the queue is the four deferred messages, oldest first" \
	"4 $KROW,$PROW,$JROW,$OROW" \
	"$(jq -r '"\(.total) \([.messages[] | select(.state == "deferred") | .id] | join(","))"' <<<"$LIST")"
check_eq "outbox list --json: each row's columns" \
	"id plan version kind recipient_kind recipient state delivery attempts next_attempt reason last_reply created" \
	"$(jq -r '.messages[0] | keys_unsorted | join(" ")' <<<"$LIST")"
check_eq "outbox list --json: Peter's row (plan, kind, recipient, attempts, delivery)" \
	"$P 1 plan professional $PADDR deferred null 1" \
	"$(jq -r --argjson id "$PROW" '.messages[] | select(.id == $id) | "\(.plan) \(.version) \(.kind) \(.recipient_kind) \(.recipient) \(.state) \(.delivery) \(.attempts)"' <<<"$LIST")"
NEXT=$(db "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', next_attempt_at, 'unixepoch') FROM outbox WHERE id = $PROW")
check_eq "outbox list --json: the next attempt in ISO 8601, UTC" "$NEXT" \
	"$(jq -r --argjson id "$PROW" '.messages[] | select(.id == $id) | .next_attempt' <<<"$LIST")"
check_out "outbox list --json: why it waits (the timeout)" "." \
	jq -re --argjson id "$PROW" '.messages[] | select(.id == $id) | .reason // empty' <<<"$LIST"
check_eq "outbox list --json: Ole's notice is a notice" "notice" \
	"$(jq -r --argjson id "$OROW" '.messages[] | select(.id == $id) | .kind' <<<"$LIST")"
HUMAN=$(kipctl outbox list)
check_out "outbox list: a table with a header" \
	"^ +ID +PLAN +VERSION +KIND +RECIPIENT_KIND +RECIPIENT +STATE +DELIVERY +ATTEMPTS +NEXT_ATTEMPT +REASON +LAST_REPLY +CREATED" \
	echo "$HUMAN"
check_out "outbox list: a row with the address and the next attempt" \
	"^ +$PROW +$P +1 +plan +professional +$PADDR +deferred +1 +$NEXT" echo "$HUMAN"
check_out "outbox list: the total" "^total: +4$" echo "$HUMAN"
ALL=$(kipctl --json outbox list --state all)
if grep -E "Bente|Borgersen|Mads|Markørsen|120452|130452" <<<"$ALL$(kipctl outbox list --state all)"; then
	fail "outbox list --state all: no citizen's name or CPR number anywhere"
else
	pass "outbox list --state all: no citizen's name or CPR number anywhere"
fi
check_eq "outbox list --state all: the citizen's message is for 'citizen'" "citizen $BADDR" \
	"$(jq -r --argjson id "$BROW" '.messages[] | select(.id == $id) | "\(.recipient_kind) \(.recipient)"' <<<"$ALL")"

check_eq "--state cancelled: the citizen's, with the reason" \
	"$BROW by an administrator: Borgeren henter planen selv" \
	"$(kipctl --json outbox list --state cancelled | jq -r '.messages[] | "\(.id) \(.reason)"')"
check_eq "--state manual: Ole's plan, with why" "$OMAN 1" \
	"$(kipctl --json outbox list --state manual | jq -r '"\([.messages[].id] | join(",")) \([.messages[] | select((.reason // "") != "")] | length)"')"
check_eq "--plan: the plan's queue" "4" "$(kipctl --json outbox list --plan "$P" | jq .total)"
check_eq "--plan --state all: every message of the plan" "6" \
	"$(kipctl --json outbox list --plan "$P" --state all | jq '.messages | length')"
check_eq "--plan of the marker plan: nothing yet" "0" "$(kipctl --json outbox list --plan "$MP" --state all | jq .total)"
P1=$(kipctl --json outbox list --limit 2 | jq -c '[.total, .limit, .offset, [.messages[].id]]')
P2=$(kipctl --json outbox list --limit 2 --offset 2 | jq -c '[.total, .limit, .offset, [.messages[].id]]')
check_eq "--limit 2, then --offset 2: two pages of the four" \
	"[4,2,0,[$KROW,$PROW]] [4,2,2,[$JROW,$OROW]]" "$P1 $P2"

# --- outbox counts -------------------------------------------------------------

COUNTS=$(kipctl --json outbox counts)
check_eq "outbox counts --json: per state" \
	'{"queued":0,"sending":0,"deferred":4,"sent":0,"failed":0,"cancelled":1,"manual":1}' \
	"$(jq -c .states <<<"$COUNTS")"
check_eq "outbox counts --json: per delivery (none reported yet), and the total" \
	'{"delivered":0,"delayed":0,"bounced":0,"opened":0,"handed":0} 6' \
	"$(jq -c .delivery <<<"$COUNTS") $(jq .total <<<"$COUNTS")"
check_eq "outbox counts --json: the oldest deferred message, when it was queued and its age" \
	"$(db "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', min(created_at), 'unixepoch') FROM outbox WHERE state = 'deferred'") true null" \
	"$(jq -r '"\(.oldest_deferred) \(.oldest_deferred_age_s >= 0) \(.oldest_queued)"' <<<"$COUNTS")"
check_out "outbox counts: readable" "^  deferred: +4$" kipctl outbox counts

# --- refusals ------------------------------------------------------------------

check_err "--state bogus: refused with the states" \
	"must be one of: queued, sending, deferred, sent, failed, cancelled, manual, all \[bad_request\]" \
	kipctl outbox list --state bogus
check_err "--limit 0: refused" "limit.*\[bad_request\]" kipctl outbox list --limit 0
for u in daemon bin; do
	for cmd in "outbox list" "outbox counts" "outbox retry $PROW" "outbox cancel $PROW --reason x"; do
		# shellcheck disable=SC2086 # the command's words
		check_err "$u (not an admin): $cmd is refused" "needs the role admin.*\[forbidden\]" \
			as "$u" "$KIPCTL" $cmd
	done
done
check_err "retry of an unknown message: not found" "message 999999 not found.*\[not_found\]" \
	kipctl outbox retry 999999
check_err "cancel of an unknown message: not found" "message 999999 not found.*\[not_found\]" \
	kipctl outbox cancel 999999 --reason "ukendt"
check_err "retry without ID or --all-deferred: refused" "\[bad_request\]" kipctl outbox retry
check_err "retry with both: refused" "\[bad_request\]" kipctl outbox retry "$PROW" --all-deferred
check_err "retry of a message for manual delivery: refused" \
	"message $OMAN is manual; only a deferred or queued message can be retried \[conflict\]" \
	kipctl outbox retry "$OMAN"
check_err "retry of a cancelled message: refused" "message $BROW is cancelled.*\[conflict\]" \
	kipctl outbox retry "$BROW"
check_err "cancel without a reason: a usage error" "missing option --reason" \
	kipctl outbox cancel "$OROW"
check_err "a reason with an e-mail address is refused (it is logged)" \
	"without an e-mail address or a CPR number \[bad_request\]" \
	kipctl outbox cancel "$OROW" --reason "skulle til $OADDR"
check_err "a reason with a CPR number is refused" "\[bad_request\]" \
	kipctl outbox cancel "$OROW" --reason "borger $CPR"
check_eq "the refused cancels left the message deferred" "deferred" "$(state_of "$OROW")"

# --- cancel a deferred message ------------------------------------------------

check_out "outbox cancel of a deferred message" "^state: +cancelled" \
	kipctl outbox cancel "$OROW" --reason "Forkert adresse, rettes i kontakten"
check_err "cancel of a cancelled message: refused" \
	"message $OROW is cancelled; only a message not yet sent.*\[conflict\]" \
	kipctl outbox cancel "$OROW" --reason "igen"

AUDIT=$(kipctl --json audit --citizen "$C")
check_eq "the audit trail names each cancel by the row (outbox.cancel ok)" "$OROW $BROW" \
	"$(jq -r '[.entries[] | select(.action == "outbox.cancel" and .outcome == "ok") | .object | sub("outbox:"; "")] | join(" ")' <<<"$AUDIT")"
check_eq "and the refusals of what concerned the citizen's messages, by the row" \
	"$(printf '%s\n' "outbox.cancel:refused:bad_request:outbox:$OROW" \
		"outbox.cancel:refused:conflict:outbox:$OROW" \
		"outbox.retry:refused:conflict:outbox:$BROW" \
		"outbox.retry:refused:conflict:outbox:$OMAN" | LC_ALL=C sort | paste -sd' ')" \
	"$(jq -r '[.entries[] | select((.action | startswith("outbox.")) and (.outcome | startswith("refused"))) | "\(.action):\(.outcome):\(.object)"] | unique | join(" ")' <<<"$AUDIT")"
check_eq "and the reads of the list" "yes" \
	"$(jq -r '[.entries[] | select(.action == "outbox.list")] | if length > 0 then "yes" else "no" end' <<<"$AUDIT")"
check_eq "no reason text in the audit trail" "0" \
	"$(db "SELECT count(*) FROM audit WHERE coalesce(object, '') LIKE '%Forkert%' OR coalesce(object, '') LIKE '%Borgeren%'")"

# --- onto the working relay ------------------------------------------------------

reload_onto "$POSTFIX_URL" && pass "kipd is reloaded onto Postfix" ||
	fail "kipd is reloaded onto Postfix" "$(tail -5 "$TDIR/kipd.log")"
check "the marker plan is approved after the reload" \
	kipctl plan approve "$MP" --version 1 --how meeting --date "$MEET_DAY"
MROW=$(db "SELECT id FROM outbox WHERE plan_id = $MP AND contact_id = $K")
wait_for 60 arrived "$MROW" && pass "the marker arrives through Postfix: kipd sends again" ||
	fail "the marker arrives through Postfix: kipd sends again" "$(state_of "$MROW")"
check_eq "yet the deferred messages still wait for their next attempt" "deferred deferred deferred" \
	"$(echo "$(state_of "$KROW") $(state_of "$PROW") $(state_of "$JROW")")"
check_eq "and none of them arrived" "0 0 0" \
	"$(echo "$(copies "$(msgid "$KROW")") $(copies "$(msgid "$PROW")")" "$(copies "$(msgid "$JROW")")")"
# The next attempts as they were: a delivery before them is the retry's.
declare -A BACKOFF
for r in "$KROW" "$PROW" "$JROW"; do BACKOFF[$r]=$(db "SELECT next_attempt_at FROM outbox WHERE id = $r"); done

# --- outbox retry ID ------------------------------------------------------------

check_out "outbox retry ID" "^retried: +1$" kipctl outbox retry "$PROW"
wait_for 60 arrived "$PROW" && pass "Peter's message arrives at once" ||
	fail "Peter's message arrives at once" "$(db "SELECT state, reason FROM outbox WHERE id = $PROW")"
wait_for 30 is_state "$PROW" sent && pass "and is recorded sent" || fail "and is recorded sent" "$(state_of "$PROW")"
check_eq "the other two still wait" "deferred deferred" "$(state_of "$KROW") $(state_of "$JROW")"

# --- outbox retry --all-deferred -----------------------------------------------

check_eq "outbox retry --all-deferred --json: both, no warning" '2 []' \
	"$(kipctl --json outbox retry --all-deferred | jq -c '"\(.retried) \(.warnings)"' -r)"
both() { arrived "$KROW" && arrived "$JROW" && is_state "$KROW" sent && is_state "$JROW" sent; }
wait_for 60 both && pass "Karen's and Jonas's messages arrive at once and are recorded sent" ||
	fail "Karen's and Jonas's messages arrive at once and are recorded sent" \
		"$(db "SELECT id, state, reason FROM outbox WHERE $W")"
late=""
for r in "$KROW" "$PROW" "$JROW"; do
	[ "$(db "SELECT sent_at FROM outbox WHERE id = $r")" -lt $((BACKOFF[$r] - 3000)) ] || late+="$r "
done
check_eq "each was sent within minutes of its retry, not at its back-off an hour later" "" "$late"
check_eq "the audit trail has the retries: Peter's by the row, the rest as one" \
	"outbox:$PROW outbox:all-deferred:2" \
	"$(db "SELECT group_concat(object, ' ') FROM (SELECT object FROM audit WHERE action = 'outbox.retry' AND outcome = 'ok' ORDER BY id)")"

# --- exactly once ---------------------------------------------------------------

# A second marker after everything: once it has arrived, whatever kipd or
# Postfix would still have done to the plan's messages has been done.
before=$(db "SELECT max(id) FROM outbox")
kipctl plan distribute "$MP" --version 1 >/dev/null
MROW2=$(db "SELECT id FROM outbox WHERE id > $before AND contact_id = $K")
wait_for 60 arrived "$MROW2" && pass "a second marker arrives" || fail "a second marker arrives"
in_log() { [ "$(logged "$(msgid "$1")")" -ge 1 ]; }
wait_for 30 in_log "$MROW2" || true
once=""
for r in "$KROW" "$PROW" "$JROW"; do
	m=$(msgid "$r")
	once+="$(copies "$m")/$(logged "$m") "
done
check_eq "each retried message is in one Maildir file and one line of Postfix's log" \
	"1/1 1/1 1/1 " "$once"
check_eq "per recipient: Karen 3 (two markers), Peter 1, Jonas 1, Ole 0, the citizen 0" \
	"3 1 1 0 0" \
	"$(count "$KADDR") $(count "$PADDR") $(count "$JADDR") $(count "$OADDR") $(count "$BADDR")"
check_eq "the cancelled messages never reached Postfix" "0/0 0/0" \
	"$(copies "$(msgid "$BROW")")/$(logged "$(msgid "$BROW")") $(copies "$(msgid "$OROW")")/$(logged "$(msgid "$OROW")")"
check_eq "and are still cancelled" "cancelled cancelled" "$(state_of "$BROW") $(state_of "$OROW")"
check_eq "the stalled relay received no message" "" \
	"$(ls -A "$RECORDER_MAIL" 2>/dev/null; grep -iE '^(MAIL FROM|RCPT TO|DATA)' "$RECORDER_LOG")"

check_err "retry of a sent message: refused" \
	"message $PROW is sent; only a deferred or queued message can be retried \[conflict\]" \
	kipctl outbox retry "$PROW"
check_err "cancel of a sent message: refused" \
	"message $PROW is sent; only a message not yet sent .*\[conflict\]" \
	kipctl outbox cancel "$PROW" --reason "for sent"
check_eq "the refusal is in the citizen's audit trail" "refused:conflict" \
	"$(kipctl --json audit --citizen "$C" | jq -r --arg o "outbox:$PROW" '[.entries[] | select(.action == "outbox.cancel" and .object == $o)][0].outcome')"
check_eq "the queue is empty" "0" "$(kipctl --json outbox list | jq .total)"
check_eq "outbox counts: 5 sent, 2 cancelled, 3 by hand (the two citizens' and Ole's)" \
	'{"queued":0,"sending":0,"deferred":0,"sent":5,"failed":0,"cancelled":2,"manual":3} null' \
	"$(kipctl --json outbox counts | jq -c '.states, .oldest_deferred' | paste -sd' ')"
check_alive
t_done
