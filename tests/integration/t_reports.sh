#!/usr/bin/env bash
# Delivery reports against the real servers: Postfix accepts a plan for a
# member and then bounces it back to kip's function mailbox, and delays
# another's; kipd reads those reports from the mailbox (Dovecot, IMAPS)
# as any mail, records each message's delivery, and acts on the bounce:
# the coordinator gets an encrypted notice naming the member, the version
# and the reason, plan status shows it, and message.bounced is recorded.
# Success reports and the disposition notifications of Thunderbird and
# Outlook are made here (tests/mkmail.py), about messages kipd really
# sent; forged and mismatched reports are quarantined and change nothing,
# and a report counts once.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"

# Two members in the test Postfix's domains that accept and then do not
# deliver (tests/servers/mail.sh), with certificates of the test CA; and
# delay warnings after a second rather than after hours.
"$ROOT/certs/make-dev-certs.sh" "$PKI" ulla.ukendt@bounce.example \
	vera.venter@delay.example >"$TDIR/pki-more.log" 2>&1 ||
	fail "certificates for the bounce and delay members" "$(tail -5 "$TDIR/pki-more.log")"
mail_postconf delay_warning_time=1s || fail "Postfix takes delay_warning_time"

INTAKE="intake = { url = \"imaps://localhost:$IMAPS_PORT/INBOX\";
  username = \"$IMAP_USER\"; password_file = \"$IMAP_PASSWORD_FILE\";
  ca_file = \"$PKI/ca.pem\"; interval_s = 3600; timeout_s = $((10 * KIP_TEST_SLOW)); };"
# Through the listener without DSN, so that no success report races the
# reports this test makes; the last part asks for reports.
mail_conf "$NODSN_URL" "$INTAKE"
kip_start

KIP=kip@kommune.example
KAREN=karen.koordinator@kommune.example
P_ADDR=peter.psykiatri@region.example
J_ADDR=jonas.job@jobcenter.example
U_ADDR=ulla.ukendt@bounce.example
V_ADDR=vera.venter@delay.example
B_ADDR=bo.blank@bounce.example
pem() { echo "$PKI/${1/@/_at_}.pem"; }
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
K=$(add --name "Karen Koordinator" --email "$KAREN" --cert "$(pem $KAREN)")
P=$(add --name "Peter Psykiatri" --email "$P_ADDR" --cert "$(pem $P_ADDR)")
J=$(add --name "Jonas Job" --email "$J_ADDR" --cert "$(pem $J_ADDR)")
U=$(add --name "Ulla Ukendt" --email "$U_ADDR" --cert "$(pem $U_ADDR)")
V=$(add --name "Vera Venter" --email "$V_ADDR" --cert "$(pem $V_ADDR)")
B=$(add --name "Bo Blank" --email "$B_ADDR") # no certificate: a notice
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$J" "$U" "$V" "$B"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place "Rådhuset" | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null
outbox_drained "$PLAN" && pass "the plan is sent" || fail "the plan is sent"

db() { sqlite3 "$TDIR/kip.db" "$@"; }
# row CONTACT KIND: the outbox row of the plan's version 1 to CONTACT.
row() { db "SELECT id FROM outbox WHERE plan_id = $PLAN AND contact_id = $1 AND kind = '$2' AND version = 1"; }
msgid() { db "SELECT message_id FROM outbox WHERE id = $1"; }
delivery() { db "SELECT coalesce(delivery, '-') || ' ' || coalesce(delivery_status, '-') FROM outbox WHERE id = $1"; }
status_of() {
	kipctl --json plan status "$PLAN" | jq -r --argjson id "$1" \
		'.messages[] | select(.id == $id) | "\(.state) \(.delivery) \(.delivery_status)"'
}
quarantined() { kipctl --json intake quarantine --limit 1000 | jq -r --arg r "$1" '[.quarantine[] | select(.reason == $r)] | length'; }
notices() { db "SELECT count(*) FROM outbox WHERE kind = 'failure' AND contact_id = $K"; }
bounce_events() { db "SELECT count(*) FROM event_log WHERE type = 'message.bounced'"; }
mk() { python3 "$ROOT/tests/mkmail.py" "$@"; }
deliver() { mail_deliver "$KIP" "$1" || fail "dovecot-lda delivers $1"; }

RP=$(row "$P" plan)
RJ=$(row "$J" plan)
RK=$(row "$K" plan)
RU=$(row "$U" plan)
RV=$(row "$V" plan)
RB=$(row "$B" notice)
check_eq "Ulla's and Vera's plans and Bo's notice were taken by the relay" "sent sent sent" \
	"$(db "SELECT group_concat(state, ' ') FROM (SELECT state FROM outbox WHERE id IN ($RU, $RV, $RB) ORDER BY id)")"

# --- Postfix's own reports ------------------------------------------------
# A bounce of the encrypted plan (its headers returned), a bounce of the
# small notice (the whole message returned), a delay warning.
mail_wait_count "$KIP" 3 30 && pass "Postfix returns two bounces and a delay warning to the function mailbox" ||
	fail "Postfix returns two bounces and a delay warning to the function mailbox" "$(tail -20 "$POSTFIX_LOG")"
st=$(run_intake)
# (kipd's own first pass, a second after start, may have read some.)
check_eq "the intake takes the three as reports" "3 0" \
	"$(db "SELECT count(*) FROM intake_seen WHERE outcome = 'report'") $(db "SELECT count(*) FROM quarantine")"
check_eq "Ulla's plan: bounced, with the status code" "bounced 5.1.1" "$(delivery "$RU")"
check_out "... and the diagnostic" "mailbox unavailable" db "SELECT delivery_detail FROM outbox WHERE id = $RU"
check_eq "Bo's notice (returned whole, as message/rfc822): bounced" "bounced 5.1.1" "$(delivery "$RB")"
check_eq "Vera's plan: delayed" "delayed 4.2.2" "$(delivery "$RV")"
check_eq "plan status: the transfer stays sent, the delivery beside it" "sent bounced 5.1.1" "$(status_of "$RU")"
check_out "plan status shows the diagnostic" "mailbox unavailable" \
	kipctl --json plan status "$PLAN"
check_eq "two message.bounced events" "2" "$(bounce_events)"
check_eq "the coordinator is told of each bounce" "2" "$(notices)"
check_eq "both encrypted to her (none manual)" "0" \
	"$(db "SELECT count(*) FROM outbox WHERE kind = 'failure' AND state = 'manual'")"

# The coordinator's notice, decrypted with openssl: the member, the version
# and the reason.
outbox_drained "$PLAN"
mail_wait_count "$KAREN" 3 20 || true
note=""
for f in $(ls -t $(mail_files "$KAREN")); do
	python3 "$ROOT/tests/mailpart.py" "$f" header Subject | grep -q "^Levering fejlede" || continue
	t=$(decrypt "$f" "$(pem $KAREN)" "$PKI/${KAREN/@/_at_}.key")
	grep -q "Ulla Ukendt" <<<"$t" && note=$t
done
check_out "the notice decrypts with openssl and names the member" "Til: Ulla Ukendt <$U_ADDR>" echo "$note"
check_out "... the plan and version" "Plan: KIP-$PLAN, version 1" echo "$note"
check_out "... and the reason" "Årsag: 5.1.1 – .*mailbox unavailable" echo "$note"
check_out "... and the command that sends her copy again" \
	"^Send igen: kipctl plan distribute $PLAN --version 1 --contact $U" echo "$note"
B_NOTE=$(for f in $(mail_files "$KAREN"); do
	python3 "$ROOT/tests/mailpart.py" "$f" header Subject | grep -q "^Levering fejlede" || continue
	t=$(decrypt "$f" "$(pem $KAREN)" "$PKI/${KAREN/@/_at_}.key")
	grep -q "Bo Blank" <<<"$t" && echo "$t"
done)
check_out "Bo's notice (a notice, not the plan) is also told" "Til: Bo Blank" echo "$B_NOTE"
grep -q "Send igen" <<<"$B_NOTE" && fail "... without a command that would send him the plan" ||
	pass "... without a command that would send him the plan"
check_eq "the outer subject names no one" "Levering fejlede – ref KIP-$PLAN" \
	"$(for f in $(mail_files "$KAREN"); do python3 "$ROOT/tests/mailpart.py" "$f" header Subject; done | grep '^Levering' | sort -u)"
! grep -qE "ukendt|blank@|Ulla|mailbox unavailable" "$TDIR/kipd.log" &&
	pass "the log names no one and quotes no diagnostic" ||
	fail "the log names no one and quotes no diagnostic" "$(grep -E 'ukendt|blank@|Ulla|mailbox unavailable' "$TDIR/kipd.log" | head -3)"

# --- reports made here, about messages kipd sent ---------------------------
mk dsn delivered "$(msgid "$RP")" "$P_ADDR" --message-id dsn-ok-1@region.example \
	--diag "X-Postfix; delivered via dovecot service" >"$TDIR/ok.eml"
mk mdn thunderbird "$(msgid "$RP")" "$P_ADDR" --message-id mdn-tb-1@region.example >"$TDIR/tb.eml"
mk mdn outlook "$(msgid "$RJ")" "$J_ADDR" --message-id mdn-ol-1@jobcenter.example >"$TDIR/ol.eml"
mk dsn delayed "$(msgid "$RK")" "$KAREN" --message-id dsn-delay-1@kommune.example \
	--diag "X-Postfix; connect to mx.kommune.example: Connection timed out" >"$TDIR/delay.eml"
deliver "$TDIR/ok.eml"
st=$(run_intake)
check_eq "a success DSN: delivered" "delivered 2.0.0" "$(delivery "$RP")"
deliver "$TDIR/tb.eml"
deliver "$TDIR/ol.eml"
deliver "$TDIR/delay.eml"
st=$(run_intake)
check_eq "three more reports" "3 0" "$(jq -r '"\(.last.reports) \(.last.quarantined)"' <<<"$st")"
check_eq "Thunderbird's MDN (sent manually): opened" "opened displayed" "$(delivery "$RP")"
check_out "... with its mode" "manual-action/MDN-sent-manually" \
	db "SELECT delivery_detail FROM outbox WHERE id = $RP"
check_eq "Outlook's read receipt: opened" "opened displayed" "$(delivery "$RJ")"
check_eq "a delayed DSN: delayed" "delayed 4.4.1" "$(delivery "$RK")"

# A later report never takes back a stronger fact: a delay after opened,
# a bounce after opened; a success after a delay does go forward.
mk dsn delayed "$(msgid "$RP")" "$P_ADDR" --message-id dsn-late-delay@region.example >"$TDIR/late1.eml"
mk dsn failed "$(msgid "$RJ")" "$J_ADDR" --message-id dsn-late-bounce@jobcenter.example >"$TDIR/late2.eml"
mk dsn delivered "$(msgid "$RK")" "$KAREN" --message-id dsn-ok-2@kommune.example >"$TDIR/late3.eml"
for f in late1 late2 late3; do deliver "$TDIR/$f.eml"; done
st=$(run_intake)
check_eq "they are reports all the same" "3 0" "$(jq -r '"\(.last.reports) \(.last.quarantined)"' <<<"$st")"
check_eq "a delay after opened: still opened" "opened displayed" "$(delivery "$RP")"
check_eq "a bounce after opened: still opened" "opened displayed" "$(delivery "$RJ")"
check_eq "... and nobody is told of it, no event" "2 2" "$(notices) $(bounce_events)"
check_eq "a success after a delay: delivered" "delivered 2.0.0" "$(delivery "$RK")"

# --- forged, mismatched, malformed -----------------------------------------
before=$(db "SELECT group_concat(coalesce(delivery, '-') || coalesce(delivery_status, '-') || coalesce(delivery_at, '-'), ',') FROM outbox")
R_RANDOM=$(msgid "$RV" | sed 's/^<kip\.\([0-9]*\)\.[0-9a-f]*@/<kip.\1.00000000deadbeef@/')
# a message kip never sent; the right id with another random part
mk dsn failed "<kip.99999.0011223344556677@kommune.example>" "$V_ADDR" \
	--message-id forged-1@evil.example >"$TDIR/f1.eml"
mk dsn failed "$R_RANDOM" "$V_ADDR" --message-id forged-2@evil.example >"$TDIR/f2.eml"
# Vera's message, but about another recipient
mk dsn failed "$(msgid "$RV")" someone.else@delay.example --message-id forged-3@evil.example >"$TDIR/f3.eml"
# the envelope id of Vera's message, the returned headers of Peter's
mk dsn failed "$(msgid "$RV")" "$V_ADDR" --headers-id "$(msgid "$RP")" \
	--message-id forged-4@evil.example >"$TDIR/f4.eml"
# an MDN naming Jonas's message, returned headers of no message of kip's
mk mdn thunderbird "$(msgid "$RJ")" "$J_ADDR" --headers-id "other.1@jobcenter.example" \
	--message-id forged-5@evil.example >"$TDIR/f5.eml"
# neither an envelope id nor returned headers
mk dsn failed "$(msgid "$RV")" "$V_ADDR" --envid - --headers-id - \
	--message-id forged-6@evil.example >"$TDIR/f6.eml"
# no Status
mk dsn failed "$(msgid "$RV")" "$V_ADDR" --message-id broken-1@evil.example |
	sed '/^Status: /d' >"$TDIR/f7.eml"
for i in 1 2 3 4 5 6 7; do deliver "$TDIR/f$i.eml"; done
st=$(run_intake)
check_eq "seven refused reports: none recorded" "0 7" "$(jq -r '"\(.last.reports) \(.last.quarantined)"' <<<"$st")"
check_eq "a message kip never sent (and a wrong random part, and none named)" "3" "$(quarantined report-unknown-message)"
check_eq "a report about another recipient" "1" "$(quarantined report-recipient-mismatch)"
check_eq "returned headers that do not match" "2" "$(quarantined report-headers-mismatch)"
check_eq "a report without Status" "1" "$(quarantined report-malformed)"
check_out "the quarantine says what was missing" "no Status" \
	kipctl --json intake quarantine --limit 1000
check_eq "no delivery changed" "$before" \
	"$(db "SELECT group_concat(coalesce(delivery, '-') || coalesce(delivery_status, '-') || coalesce(delivery_at, '-'), ',') FROM outbox")"
check_eq "Vera's plan is still only delayed" "delayed 4.2.2" "$(delivery "$RV")"
check_eq "no notice, no event" "2 2" "$(notices) $(bounce_events)"
! kipctl --json intake quarantine --limit 1000 | grep -qE "$V_ADDR|someone.else|deadbeef" &&
	pass "the quarantine quotes no address or id from the reports" ||
	fail "the quarantine quotes no address or id from the reports"
check_eq "no report became a deviation" "0" "$(db "SELECT count(*) FROM deviations")"

# --- the same report twice --------------------------------------------------
# Postfix's bounce again (the same Message-ID): a duplicate. The same
# bounce sent anew (another Message-ID): a report that adds nothing.
first=$(grep -l "Original-Recipient: rfc822;$U_ADDR" $(mail_files "$KIP") | head -1)
if [ -n "$first" ]; then deliver "$first"; else fail "Postfix's bounce is in the mailbox"; fi
mk dsn failed "$(msgid "$RU")" "$U_ADDR" --message-id bounce-again@region.example >"$TDIR/again.eml"
deliver "$TDIR/again.eml"
st=$(run_intake)
check_eq "the same bounce twice: one duplicate, one report" "1 1" \
	"$(jq -r '"\(.last.duplicates) \(.last.reports)"' <<<"$st")"
check_eq "the bounce counts once: one notice and one event for Ulla" "2 2" "$(notices) $(bounce_events)"
check_eq "and Ulla's plan keeps its first report" "bounced 5.1.1" "$(delivery "$RU")"
check_out "(the diagnostic Postfix gave)" "mailbox unavailable" db "SELECT delivery_detail FROM outbox WHERE id = $RU"

check_eq "every message in the function mailbox was read and flagged" "0" \
	"$(jq -r .last.read <<<"$(run_intake)")"
# --- a real success report, end to end ---------------------------------------
# Through the relay that offers DSN: kipd asks for reports, Postfix's own
# success report comes back to the function mailbox naming the copy's
# envelope id, and the intake makes the copy delivered.
kip_stop
mail_conf "$POSTFIX_URL" "$INTAKE"
kip_start
kipctl plan distribute "$PLAN" --version 1 >/dev/null
outbox_drained "$PLAN" || true
RP2=$(db "SELECT max(id) FROM outbox WHERE plan_id = $PLAN AND contact_id = $P AND kind = 'plan'")
check_eq "a copy sent through a relay with DSN asks for reports" "sent requested" \
	"$(db "SELECT state || ' ' || reports FROM outbox WHERE id = $RP2")"
envid=$(msgid "$RP2" | sed 's/^<//; s/@.*//')
for _ in $(seq 1 $((100 * KIP_TEST_SLOW))); do
	# shellcheck disable=SC2046 # one word per file
	grep -qs "Original-Envelope-Id: $envid" $(mail_files "$KIP") && break
	sleep 0.3
done
# shellcheck disable=SC2046 # one word per file
grep -qs "Original-Envelope-Id: $envid" $(mail_files "$KIP") &&
	pass "Postfix's success report names the copy's envelope id" ||
	fail "Postfix's success report names the copy's envelope id"
run_intake >/dev/null
check_eq "the intake makes the copy delivered" "delivered 2.0.0" "$(delivery "$RP2")"

# --- in English, with the event on the broker ---------------------------------
# Ulla's copy sent again through the relay with DSN: Postfix bounces it for
# real; the coordinator's notice is in English, and message.bounced reaches
# the MQTT broker with ids only.
. "$ROOT/tests/servers/mqtt.sh"
MQ=$TDIR/mqtt
if mqtt_start "$MQ"; then
	trap 'mqtt_sub_stop; kip_stop; mqtt_stop "$MQ"; mail_stop "$TDIR/mail" >/dev/null 2>&1; [ -n "${KIP_TEST_KEEP:-}" ] || rm -rf "$TDIR"' EXIT
	kip_stop
	mail_conf "$POSTFIX_URL" "$INTAKE
plans = { default_lang = \"en\"; };
mqtt = { host = \"localhost\"; port = $MQTT_PORT; ca_file = \"$MQTT_CA\";
  username = \"$MQTT_USER\"; password_file = \"$MQTT_PASSWORD_FILE\";
  topic_prefix = \"kip\"; client_id = \"kipd-test\"; keepalive_s = 5; };"
	SUB=$TDIR/sub.log
	mqtt_sub "$MQ" "$SUB"
	. "$ROOT/tests/clock_lib.sh" # the next day's digest, below
	kip_start
	n0=$(notices)
	FROM3=$(db "SELECT max(id) FROM outbox")
	kipctl plan distribute "$PLAN" --version 1 >/dev/null
	outbox_drained "$PLAN" || true
	RU3=$(db "SELECT id FROM outbox WHERE id > $FROM3 AND contact_id = $U AND kind = 'plan'")
	envid=$(msgid "$RU3" | sed 's/^<//; s/@.*//')
	for _ in $(seq 1 $((100 * KIP_TEST_SLOW))); do
		# shellcheck disable=SC2046 # one word per file
		grep -qs "Original-Envelope-Id: $envid" $(mail_files "$KIP") && break
		sleep 0.3
	done
	run_intake >/dev/null
	check_eq "Ulla's new copy: bounced by Postfix, detected" "bounced 5.1.1" "$(delivery "$RU3")"
	# Her copies of version 1 bounced more than once: she is one member
	# whose copy bounced, in plan status and in Karen's digest.
	check_eq "Ulla's earlier copies bounced too" "1" \
		"$(db "SELECT count(*) > 1 FROM outbox WHERE plan_id = $PLAN AND kind = 'plan' AND contact_id = $U AND delivery = 'bounced'")"
	check_eq "plan status counts one copy per recipient, her newest" \
		"$(db "SELECT count(DISTINCT coalesce(contact_id, 0)) FROM outbox WHERE plan_id = $PLAN AND kind = 'plan' AND version = 1") 1" \
		"$(kipctl --json plan status "$PLAN" --version 1 | jq -r '.versions[0] | "\(.copies) \(.bounced)"')"
	check_eq "the digest names her once" "1" \
		"$(kipctl --json digest --coordinator "$K" | jq "[.plans[].bounced[]? | select(.contact == $U)] | length")"
	# (Bo's notice, at bounce.example too, bounces beside it.)
	check_eq "the coordinator is told of both once more" "$((n0 + 2))" "$(notices)"
	outbox_drained "$PLAN" || true
	# The English notice about Ulla (the one about Bo may come first).
	text=""
	for _ in $(seq 1 50); do
		for f in $(ls -t $(mail_files "$KAREN")); do
			python3 "$ROOT/tests/mailpart.py" "$f" header Subject | grep -q "^Delivery failed" || continue
			t=$(decrypt "$f" "$(pem $KAREN)" "$PKI/karen.koordinator_at_kommune.example.key")
			grep -q "Ulla" <<<"$t" && { text=$t; break; }
		done
		[ -n "$text" ] && break
		sleep 0.2
	done
	grep -q "^A message could not be delivered after the mail server had" <<<"$text" &&
		grep -q "Ulla Ukendt <$U_ADDR>" <<<"$text" && grep -q "5.1.1" <<<"$text" &&
		! grep -qE "Besked|leveres|Årsag" <<<"$text" &&
		pass "the English notice names the member and the reason, in English" ||
		fail "the English notice names the member and the reason, in English" "$text"
	check_out "and gives the command that sends her copy again" \
		"^Send again: kipctl plan distribute $PLAN --version 1 --contact $U" echo "$text"
	ev=""
	for _ in $(seq 1 50); do
		ev=$(grep "^kip/events/message.bounced " "$SUB" | cut -d' ' -f2- |
			jq -c --argjson id "$RU3" 'select(.data.message == $id)' 2>/dev/null)
		[ -n "$ev" ] && break
		sleep 0.1
	done
	check_eq "message.bounced reaches the broker, naming the copy by id" "$RU3 plan 1" \
		"$(jq -r '"\(.data.message) \(.data.kind) \(.data.version)"' <<<"$ev" 2>/dev/null)"
	check_eq "... and nothing else: ids only" "citizen kind message plan version" \
		"$(jq -r '.data | keys | join(" ")' <<<"$ev" 2>/dev/null)"
	! grep -qiE "ulla|bounce\.example|5\.1\.1|Testesen|290256" "$SUB" &&
		pass "no payload on the broker names the member, the address or the reason" ||
		fail "no payload on the broker names the member, the address or the reason" "$(head -5 "$SUB")"
	# The next day's digest names Ulla once, with what Karen can do.
	at "$(kdate -d "$(kdate -d "@$((NOW0 + DAY))" +%F) 12:00" +%s)"
	mail_settled || true
	n0=$(count "$KAREN")
	kipctl scheduler run >/dev/null
	mail_wait_count "$KAREN" $((n0 + 1)) 30 || true
	f=$(newest "$KAREN" "Daily digest")
	text=$(decrypt "$f" "$(pem $KAREN)" "$PKI/karen.koordinator_at_kommune.example.key" | tr -d '\r')
	check_eq "Karen's digest names Ulla's bounced copy once" "1" \
		"$(grep -c "^  - Bounced after it was sent: Ulla Ukendt, version 1 (message $RU3): 5.1.1" <<<"$text")"
	check_out "and how to send it again" \
		"^    Correct the address and send it again: kipctl plan distribute $PLAN --version 1 --contact $U$" \
		echo "$text"
	check_out "or to record a hand-over" \
		"^    Or once handed over: kipctl plan handed $PLAN --version 1 --contact $U --how" echo "$text"
else
	fail "mosquitto starts"
fi
check_alive "kipd serves after the reports"
kip_stop
t_done
