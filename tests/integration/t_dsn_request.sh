#!/usr/bin/env bash
# Delivery reports asked for, against the real Postfix: where the relay's
# EHLO names DSN, every message asks for reports (RET=HDRS, as ENVID the
# local part of its Message-ID, NOTIFY=SUCCESS,FAILURE,DELAY, ORCPT), as
# Postfix's own queue files and the success reports it sends back to the
# function mailbox show, and its row says reports 'requested'. A relay
# without DSN gets the messages without the request: they are sent, their
# rows say 'none', and the log says so once. One that names DSN but
# refuses the parameters (555) gets each message again at once without
# them, and the next ones go without. Read receipts are asked for only when configured, and only of a
# plan's members.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"

PF=$MAIL_DIR/postfix
db() { sqlite3 "$TDIR/kip.db" "$@"; }
KIP=kip@kommune.example
# postfix_listener PORT OPTION...: one more smtpd of the test Postfix on
# 127.0.0.1:PORT with the -o OPTIONs (master.cf, reloaded). Its processes
# start with them: none of the listener runs before.
postfix_listener() {
	local port=$1 o
	shift
	{
		echo "127.0.0.1:$port inet n - n - - smtpd"
		for o in "$@"; do echo "  -o $o"; done
	} >>"$PF/master.cf"
	touch -d '-1 minute' "$PF/master.cf"
	postfix -c "$PF" reload >/dev/null 2>&1 && _mail_wait_port "$port" 10
}
# The ENVID of outbox row ID: its Message-ID's local part.
envid() { db "SELECT message_id FROM outbox WHERE id = $1" | sed 's/^<//; s/@.*//'; }
# sent_rows FROM: the ids of the rows after FROM that were sent.
sent_rows() { db "SELECT id FROM outbox WHERE id > $1 AND state = 'sent' ORDER BY id"; }
# distributed FROM: how many of them are the plan or a notice instead (a
# distribution; a follow-up may come with the first).
distributed() { db "SELECT count(*) FROM outbox WHERE id > $1 AND state = 'sent' AND kind IN ('plan', 'notice')"; }
wait_drained() { outbox_drained "$PLAN" 300 || fail "the outbox drains" "$(kipctl plan status "$PLAN")"; }

# --- 1. A relay with DSN: Postfix holds what it takes, for a look ---------
# A listener of the same Postfix puts every message it takes in its hold
# queue, so that the queue file (postcat) shows the envelope as Postfix
# recorded it; released, the messages are delivered and Postfix reports
# the successes.
read -r HOLD_PORT < <(_mail_free_ports 1)
postfix_listener "$HOLD_PORT" syslog_name=postfix/hold \
	"{smtpd_end_of_data_restrictions = check_client_access static:HOLD}" ||
	fail "Postfix listens on a port that holds what it takes" "$(tail -5 "$POSTFIX_LOG")"
mail_conf "smtp://localhost:$HOLD_PORT"
kip_start

# The network. Fictional people; the CPR number has a birth date in 2056.
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--cert "$PKI/peter.psykiatri_at_region.example.pem")
J=$(add --name "Jonas Job" --email jonas.job@jobcenter.example)
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" \
	--email borger@borger.example --cert "$PKI/borger_at_borger.example.pem" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$J"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place X | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null

FROM1=$(db "SELECT coalesce(max(id), 0) FROM outbox")
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null
wait_drained
ROWS1=$(sent_rows "$FROM1")
N1=$(grep -c . <<<"$ROWS1")
check_eq "the plan to Karen, Peter and the citizen and Jonas's notice are sent" 4 "$(distributed "$FROM1")"
check_eq "every row sent through the DSN relay says reports 'requested'" "$N1" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM1 AND state = 'sent' AND reports = 'requested'")"
# queue_file ENVID: postcat's record of the queue file with ENVID.
queue_file() {
	awk -v e="named_attribute: envelope_id=$1" '
		/^== / { if (hit) exit; buf = "" }
		{ buf = buf $0 "\n" }
		$0 == e { hit = 1 }
		END { if (hit) printf "%s", buf }' "$TDIR/postcat"
}
held() { find "$MAIL_DIR/postfix-queue/hold" -type f 2>/dev/null | sed 's@.*/@@'; }
for _ in $(seq 1 100); do [ "$(held | grep -c .)" -ge "$N1" ] && break; sleep 0.05; done
# (and any notice kipd sent before, such as one of a certificate that
# expires soon)
[ "$(held | grep -c .)" -ge "$N1" ] && pass "Postfix holds the $N1 messages" ||
	fail "Postfix holds the $N1 messages" "$(held)"
: >"$TDIR/postcat"
for q in $(held); do
	{ echo "== $q"; postcat -c "$PF" -e -q "$q"; } >>"$TDIR/postcat" 2>&1
done
bad=""
for id in $ROWS1; do
	e=$(envid "$id")
	to=$(db "SELECT recipient FROM outbox WHERE id = $id")
	rec=$(queue_file "$e")
	[ -n "$rec" ] || { bad+="row $id: no queue file with ENVID $e; "; continue; }
	grep -qx "named_attribute: ret_flags=2" <<<"$rec" || bad+="row $id: not RET=HDRS; "
	# DSN_NOTIFY_SUCCESS 2 | FAILURE 4 | DELAY 8 (Postfix's dsn.h)
	grep -qx "named_attribute: notify_flags=14" <<<"$rec" || bad+="row $id: not NOTIFY=SUCCESS,FAILURE,DELAY; "
	grep -qx "named_attribute: dsn_orig_rcpt=rfc822;$to" <<<"$rec" || bad+="row $id: no ORCPT rfc822;$to; "
	grep -qx "recipient: $to" <<<"$rec" || bad+="row $id: not to $to; "
done
check_eq "Postfix's queue file of each message holds RET=HDRS, its row's ENVID, NOTIFY=SUCCESS,FAILURE,DELAY and ORCPT=rfc822;recipient" "" "$bad"
e1=$(envid "$(head -1 <<<"$ROWS1")")
echo "# postcat, the queue file of row $(head -1 <<<"$ROWS1"):"
queue_file "$e1" | grep -E "^== |envelope_id|ret_flags|notify_flags|dsn_orig_rcpt|^sender|^recipient" |
	sed 's/^/#   /'
check_eq "the ENVID is the local part of the Message-ID (kip.ID.RANDOM)" 1 \
	"$(grep -cE "^kip\.$(head -1 <<<"$ROWS1")\.[0-9a-f]{16}$" <<<"$e1")"

# Released, the messages are delivered; Postfix reports each success to
# the sender, the function mailbox, naming the ENVID.
n0=$(count "$KIP")
postsuper -c "$PF" -H ALL hold >/dev/null 2>&1
postqueue -c "$PF" -f >/dev/null 2>&1
mail_wait_count "$KIP" $((n0 + N1)) 30 &&
	pass "a success report for each of the $N1 messages reaches the function mailbox" ||
	fail "a success report for each of the $N1 messages reaches the function mailbox" "$(tail -20 "$POSTFIX_LOG")"
grep "sender delivery status notification" "$POSTFIX_LOG" | head -2 | sed 's/^/# postfix: /'
# (The count can be reached by another report first: wait for each row's.)
for id in $ROWS1; do
	e=$(envid "$id")
	for _ in $(seq 1 $((100 * KIP_TEST_SLOW))); do
		# shellcheck disable=SC2046 # one word per file
		grep -qs "^Original-Envelope-Id: $e" $(mail_files "$KIP") && break
		sleep 0.3
	done
done
bad=""
for id in $ROWS1; do
	e=$(envid "$id")
	to=$(db "SELECT recipient FROM outbox WHERE id = $id")
	f=$(grep -l "^Original-Envelope-Id: $e" $(mail_files "$KIP") 2>/dev/null | head -1)
	[ -n "$f" ] || { bad+="row $id: no report names $e; "; continue; }
	grep -q "^Content-Type: multipart/report; report-type=delivery-status" "$f" || bad+="row $id: not a delivery report; "
	grep -q "^Action: delivered" "$f" || bad+="row $id: not 'delivered'; "
	grep -q "^Original-Recipient: rfc822;$to" "$f" || bad+="row $id: no Original-Recipient $to; "
	# RET=HDRS: the headers come back, never the (encrypted) message
	grep -q "^Content-Type: text/rfc822-headers" "$f" && ! grep -q "^Content-Type: message/rfc822" "$f" ||
		bad+="row $id: more than the headers came back; "
done
check_eq "each report names its row's ENVID, 'delivered', the recipient, and carries the headers only" "" "$bad"
f=$(grep -l "^Original-Envelope-Id: $e1" $(mail_files "$KIP") | head -1)
echo "# the report for row $(head -1 <<<"$ROWS1"):"
grep -E "^(Original-Envelope-Id|Final-Recipient|Original-Recipient|Action|Status):" "$f" | sed 's/^/#   /'
for a in karen.koordinator@kommune.example peter.psykiatri@region.example \
	jonas.job@jobcenter.example borger@borger.example; do
	mail_wait_count "$a" 1 20 || fail "delivered to $a"
done
! grep -q "relay gives no delivery reports\|refused the request for delivery reports" "$TDIR/kipd.log" &&
	pass "with DSN the log says nothing of missing reports" ||
	fail "with DSN the log says nothing of missing reports"

# Read receipts are off by default: no member's message asks for one.
dnt=$(for a in karen.koordinator@kommune.example peter.psykiatri@region.example \
	jonas.job@jobcenter.example borger@borger.example; do
	for f in $(mail_files "$a"); do grep -il "^Disposition-Notification-To:" "$f"; done
done)
check_eq "read receipts off (the default): no message asks for one" "" "$dnt"

# --- 2. A relay without DSN -------------------------------------------------
# The same Postfix on a listener whose EHLO names no DSN: it refuses the
# parameters ("501 5.7.1 DSN support is disabled"; a client that sent
# them anyway would fail there).
refusal=$(/usr/bin/python3 - "$SMTP_NODSN_PORT" "$PKI/ca.pem" "$SMTP_USER" "$SMTP_PASSWORD_FILE" <<'PY' 2>&1
import smtplib, ssl, sys
port, ca, user, pwfile = sys.argv[1:]
s = smtplib.SMTP("localhost", int(port), timeout=10)
s.starttls(context=ssl.create_default_context(cafile=ca))
s.ehlo()
print("DSN named" if s.has_extn("dsn") else "no DSN named")
s.login(user, open(pwfile).read())
code, msg = s.docmd("MAIL FROM:<kip@kommune.example> RET=HDRS ENVID=kip.0.0000000000000000")
print(code, msg.decode())
s.quit()
PY
)
echo "# the relay without DSN, asked anyway: $(tr '\n' ' ' <<<"$refusal")"
grep -q "no DSN named" <<<"$refusal" && grep -q "^501 5.7.1" <<<"$refusal" &&
	pass "the listener without DSN names none, and refuses the parameters (501 5.7.1)" ||
	fail "the listener without DSN names none, and refuses the parameters (501 5.7.1)" "$refusal"

kip_stop
mail_conf "$NODSN_URL"
kip_start
L0=$(wc -l <"$POSTFIX_LOG")
FROM2=$(db "SELECT coalesce(max(id), 0) FROM outbox")
n0=$(count "$KIP")
kipctl plan distribute "$PLAN" --version 1 >/dev/null
wait_drained
ROWS2=$(sent_rows "$FROM2")
N2=$(grep -c . <<<"$ROWS2")
check_eq "without DSN every message is sent" 4 "$(distributed "$FROM2")"
check_eq "none failed, none waits" "0" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM2 AND state IN ('failed', 'deferred', 'queued', 'sending')")"
check_eq "every row sent without DSN says reports 'none'" "$N2" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM2 AND state = 'sent' AND reports = 'none'")"
check_eq "plan status still says 'sent'" "sent" \
	"$(kipctl --json plan status "$PLAN" | jq -r --argjson f "$FROM2" '[.messages[] | select(.id > $f and .state != "manual") | .state] | unique | join(",")')"
check_eq "plan status notes on each of them: relay gives no reports" "relay gives no reports" \
	"$(kipctl --json plan status "$PLAN" | jq -r --argjson f "$FROM2" '[.messages[] | select(.id > $f and .state == "sent") | .note] | unique | join(",")')"
check_out "... also in its readable view" "none +relay gives no reports" \
	kipctl plan status "$PLAN"
check_eq "the log says once that the relay gives no reports" 1 \
	"$(grep -c "smtp: the relay gives no delivery reports" "$TDIR/kipd.log")"
grep "smtp: the relay gives no delivery reports" "$TDIR/kipd.log" | sed 's/^/# kipd: /'
for a in peter.psykiatri@region.example borger@borger.example; do
	mail_wait_count "$a" 2 20 || fail "delivered again to $a"
done
sleep 1 # a report, if any came, would be in by now
check_eq "and no report comes back for them" "$n0" "$(count "$KIP")"

# (kipd keeps its connections: Postfix logs their counts at the end.)
kip_stop
for _ in $(seq 1 100); do
	nodsn=$(tail -n +$((L0 + 1)) "$POSTFIX_LOG" | grep "postfix/nodsn/smtpd.*disconnect from")
	[ -n "$nodsn" ] && break
	sleep 0.05
done
[ -n "$nodsn" ] && ! grep -qE "(mail|rcpt)=[0-9]+/" <<<"$nodsn" &&
	pass "the relay without DSN refused no MAIL or RCPT of kipd's" ||
	fail "the relay without DSN refused no MAIL or RCPT of kipd's" "$nodsn"
sed 's/^/# postfix: /' <<<"$nodsn" | head -2

# --- 3. A relay that names DSN but refuses it -------------------------------
# The recorder behind stunnel: its EHLO names DSN, its MAIL answers the
# parameters with 555. Each message goes again at once without them; the
# pool remembers, so later messages go without asking.
read -r TLS_PORT < <(_mail_free_ports 1)
STUNNEL_PID=$(recorder_tls smtps "$TLS_PORT" "sslVersionMin = TLSv1.2")
trap 'kill $STUNNEL_PID 2>/dev/null; kip_stop; mail_stop "$TDIR/mail" >/dev/null 2>&1; [ -n "${KIP_TEST_KEEP:-}" ] || rm -rf "$TDIR"' EXIT
_mail_wait_port "$TLS_PORT" 5 || fail "stunnel listens" "$(cat "$TDIR/smtps.log")"
mail_recorder_mode dsn-refused
: >"$RECORDER_LOG"
mail_conf "smtps://localhost:$TLS_PORT"
kip_start
FROM3=$(db "SELECT coalesce(max(id), 0) FROM outbox")
kipctl plan distribute "$PLAN" --version 1 >/dev/null
wait_drained
N3=$(sent_rows "$FROM3" | grep -c .)
check_eq "refused for its DSN parameters, every message is sent" 4 "$(distributed "$FROM3")"
check_eq "without them: each row says reports 'none'" "$N3" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM3 AND state = 'sent' AND reports = 'none'")"
check_eq "none failed on the 555" "0" "$(db "SELECT count(*) FROM outbox WHERE id > $FROM3 AND state = 'failed'")"
check_eq "each went in one attempt" "1" "$(db "SELECT max(attempts) FROM outbox WHERE id > $FROM3")"
tried=$(grep -c "^MAIL FROM:<kip@kommune.example>.* RET=HDRS ENVID=kip\." "$RECORDER_LOG" || true)
[ "$tried" -ge 1 ] && [ "$tried" -le 2 ] &&
	pass "the request was tried by at most one message per connection ($tried), then no more" ||
	fail "the request was tried by at most one message per connection ($tried), then no more" "$(cat "$RECORDER_LOG" | grep -E '^(MAIL|RCPT|RSET|DATA)')"
check_eq "each refusal was followed by RSET" "$tried" "$(grep -c "^RSET$" "$RECORDER_LOG")"
check_eq "and each message went without the parameters" "$N3" \
	"$(grep -cE "^MAIL FROM:<kip@kommune.example>( SIZE=[0-9]+)?$" "$RECORDER_LOG")"
grep -E "^(MAIL|RSET)" "$RECORDER_LOG" | head -3 | sed 's/^/# recorder: /'
check_eq "the recorder has the $N3 messages" "$N3" "$(ls "$RECORDER_MAIL" | grep -c .)"
check_eq "the log says once that the relay refused the request" 1 \
	"$(grep -c "smtp: the relay names DSN but refused the request for delivery reports" "$TDIR/kipd.log")"
mail_recorder_mode accept

# --- 4. Read receipts on ------------------------------------------------------
kip_stop
mail_conf "$POSTFIX_URL" "mail = { read_receipts = true; };"
kip_start
kipctl plan distribute "$PLAN" --version 1 >/dev/null
wait_drained
# newest_of ADDRESS: the newest message file of ADDRESS.
newest_of() { ls -t $(mail_files "$1") | head -1; }
for a in karen.koordinator@kommune.example peter.psykiatri@region.example jonas.job@jobcenter.example; do
	mail_wait_count "$a" 3 20 || true
	check_eq "read receipts on: $a's message asks for one to the function mailbox" \
		"Disposition-Notification-To: <$KIP>" \
		"$(grep -i "^Disposition-Notification-To:" "$(newest_of "$a")" | tr -d '\r')"
done
mail_wait_count borger@borger.example 3 20 || true
check_eq "the citizen, not a member, is asked for none" "" \
	"$(grep -i "^Disposition-Notification-To:" "$(newest_of borger@borger.example)")"

# --- 5. Connections the relay closed while idle -------------------------------
# kipd keeps its SMTP connections between messages. Postfix drops a client
# idle longer than smtpd_timeout (421, then it closes): the next messages
# must go on new connections, at their first attempt, none deferred.
mail_postconf smtpd_timeout=2s || fail "Postfix takes smtpd_timeout"
# (connections made before keep the old value: kipd starts afresh)
kip_stop
kip_start
L5=$(wc -l <"$POSTFIX_LOG")
FROM5=$(db "SELECT coalesce(max(id), 0) FROM outbox")
kipctl plan distribute "$PLAN" --version 1 >/dev/null
wait_drained
for _ in $(seq 1 100); do
	tail -n +$((L5 + 1)) "$POSTFIX_LOG" | grep -q "timeout after" && break
	sleep 0.1
done
tail -n +$((L5 + 1)) "$POSTFIX_LOG" | grep -q "postfix/smtpd.*timeout after" &&
	pass "Postfix closed kipd's idle connections" ||
	fail "Postfix closed kipd's idle connections" "$(tail -n +$((L5 + 1)) "$POSTFIX_LOG" | tail -5)"
FROM6=$(db "SELECT coalesce(max(id), 0) FROM outbox")
kipctl plan distribute "$PLAN" --version 1 >/dev/null
wait_drained
check_eq "afterwards every message went at its first attempt" "$(distributed "$FROM6") 1" \
	"$(db "SELECT count(*) || ' ' || max(attempts) FROM outbox WHERE id > $FROM6 AND state = 'sent' AND kind IN ('plan', 'notice')")"
check_eq "... none deferred, none failed" "0" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM6 AND state IN ('deferred', 'failed')")"
mail_postconf smtpd_timeout=300s || true
check_alive "kipd serves"
t_done
