#!/usr/bin/env bash
# The intake against real servers: partners' signed deviation reports read
# from the function mailbox over IMAPS (Dovecot), replies to invitations,
# and reports from a partner system over MQTT (mosquitto with TLS,
# passwords and an ACL). Every refusal is quarantined with its reason and
# kipd stays up; each mail is recorded exactly once, across a kill -9.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"
. "$ROOT/tests/servers/mqtt.sh"
MQ=$TDIR/mqtt
mqtt_start "$MQ" || { fail "mosquitto starts"; t_done; exit 1; }
trap 'kip_stop; mqtt_stop "$MQ"; mail_stop "$TDIR/mail" >/dev/null 2>&1; [ -n "${KIP_TEST_KEEP:-}" ] || rm -rf "$TDIR"' EXIT

INTAKE="intake = { url = \"imaps://localhost:$IMAPS_PORT/INBOX\";
  username = \"$IMAP_USER\"; password_file = \"$IMAP_PASSWORD_FILE\";
  ca_file = \"$PKI/ca.pem\"; interval_s = 3600; timeout_s = $((10 * KIP_TEST_SLOW)); };
mqtt = { host = \"localhost\"; port = $MQTT_PORT; ca_file = \"$MQTT_CA\";
  username = \"$MQTT_USER\"; password_file = \"$MQTT_PASSWORD_FILE\";
  client_id = \"kipd-intake\"; keepalive_s = 5;
  reporters = ( { username = \"$MQTT_PARTNER_USER\"; contact = \"peter.psykiatri@region.example\"; } ); };"
# Through the listener without DSN: the success reports that kipd asks a
# relay with DSN for would come into the function mailbox among the mail
# counted here (t_dsn_request.sh tests them).
mail_conf "$NODSN_URL" "$INTAKE"
kip_start

# The network. Fictional people; the CPR number has a birth date in 2056.
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--cert "$PKI/peter.psykiatri_at_region.example.pem")
J=$(add --name "Jonas Job" --email jonas.job@jobcenter.example)
E=$(add --name "Eva Elliptisk" --email ec.recipient@region.example)
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$J"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place "Rådhuset" | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null

KIP=kip@kommune.example
cert() { echo "$PKI/${1/@/_at_}.pem"; }
key() { echo "$PKI/${1/@/_at_}.key"; }
mk() { python3 "$ROOT/tests/mkmail.py" "$@"; }
deliver() { mail_deliver "$KIP" "$1" || fail "dovecot-lda delivers $1"; }
deviations() { sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM deviations WHERE channel = '$1'"; }
quarantined() { kipctl --json intake quarantine --limit 1000 | jq -r --arg r "$1" '[.quarantine[] | select(.reason == $r)] | length'; }

printf 'Mål: 2\nIndsats: 1\n\nBjarne udeblev fra to samtaler i DP i uge 46.\n' >"$TDIR/report.txt"
printf 'Hej Karen\n\nBjarne mødte ikke op.\n' >"$TDIR/nogoal.txt"
SUBJ="Re: Koordinerende indsatsplan - ref KIP-$PLAN"
P_ADDR=peter.psykiatri@region.example

# A valid signed report, and one signed then encrypted to the organisation.
mk signed "$P_ADDR" "$SUBJ" "$TDIR/report.txt" "$(cert $P_ADDR)" "$(key $P_ADDR)" \
	--message-id valid-1@region.example >"$TDIR/valid.eml"
mk signed "$P_ADDR" "Afvigelse" "$TDIR/report.txt" "$(cert $P_ADDR)" "$(key $P_ADDR)" \
	--message-id valid-2@region.example --encrypt-to "$PKI/org.pem" \
	--in-reply-to "$(sqlite3 "$TDIR/kip.db" "SELECT message_id FROM outbox WHERE contact_id = $P AND kind = 'plan' LIMIT 1")" \
	>"$TDIR/valid-enc.eml"
deliver "$TDIR/valid.eml"
deliver "$TDIR/valid-enc.eml"

# Each way a mail must not get in.
mk unsigned "$P_ADDR" "$SUBJ" "$TDIR/report.txt" --message-id unsigned@region.example >"$TDIR/q1.eml"
mk signed "$P_ADDR" "$SUBJ" "$TDIR/report.txt" "$(cert $P_ADDR)" "$(key $P_ADDR)" --tamper \
	--message-id tampered@region.example >"$TDIR/q2.eml"
mk signed "$P_ADDR" "$SUBJ" "$TDIR/report.txt" "$(cert karen.koordinator@kommune.example)" \
	"$(key karen.koordinator@kommune.example)" --message-id notsender@region.example >"$TDIR/q3.eml"
mk signed ec.recipient@region.example "$SUBJ" "$TDIR/report.txt" "$PKI/ec_recipient.pem" \
	"$PKI/ec_recipient.key" --message-id notmember@region.example >"$TDIR/q4.eml"
mk signed "$P_ADDR" "Re: noget andet" "$TDIR/report.txt" "$(cert $P_ADDR)" "$(key $P_ADDR)" \
	--message-id noref@region.example >"$TDIR/q5.eml"
mk signed "$P_ADDR" "$SUBJ" "$TDIR/nogoal.txt" "$(cert $P_ADDR)" "$(key $P_ADDR)" \
	--message-id nogoal@region.example >"$TDIR/q6.eml"
mk signed expired@region.example "$SUBJ" "$TDIR/report.txt" "$PKI/expired.pem" "$PKI/expired.key" \
	--message-id expired@region.example >"$TDIR/q7.eml"
mk signed revoked@region.example "$SUBJ" "$TDIR/report.txt" "$PKI/revoked.pem" "$PKI/revoked.key" \
	--message-id revoked@region.example >"$TDIR/q8.eml"
printf 'From: %s\r\nSubject: %s\r\nMessage-ID: <broken@region.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="x"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nMål: 1\r\n--x\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIB!!!notbase64\r\n--x--\r\n' \
	"$P_ADDR" "$SUBJ" >"$TDIR/q9.eml"
for i in 1 2 3 4 5 6 7 8 9; do deliver "$TDIR/q$i.eml"; done

st=$(run_intake)
# (kipd's own first pass, a second after start, may have read some.)
check_eq "all 11 mails are judged" "11" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM intake_seen WHERE channel = 'mail'")"
check_eq "two signed reports are recorded" "2" "$(deviations mail)"
check_eq "nine are quarantined" "9" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM quarantine WHERE channel = 'mail'")"
for r in unsigned bad-signature signer-not-sender not-a-member unknown-reference no-goal \
	expired revoked; do
	check_eq "quarantined with reason $r" "1" "$(quarantined "$r")"
done
check_eq "malformed S/MIME is quarantined too" "1" \
	"$(kipctl --json intake quarantine | jq '[.quarantine[] | select(.source_id == "broken@region.example")] | length')"
check_alive "kipd serves after the hostile mails"
D=$(sqlite3 "$TDIR/kip.db" "SELECT id FROM deviations WHERE source_id = 'valid-1@region.example'")
show=$(kipctl --json deviation show "$D")
check_eq "the report ties to goal 2, action 1" "2 1" "$(jq -r '"\(.goal) \(.action)"' <<<"$show")"
check_eq "from Peter, by mail" "$P mail" "$(jq -r '"\(.reporter_id) \(.channel)"' <<<"$show")"
check_out "the verification says how" "S/MIME signature verified; signer certificate SHA-256" jq -r .verification <<<"$show"
check_out "the text is the signed text" "udeblev fra to samtaler" jq -r .report <<<"$show"
check_out "the encrypted one says so" "arrived encrypted" \
	sqlite3 "$TDIR/kip.db" "SELECT verification FROM deviations WHERE source_id = 'valid-2@region.example'"
check_eq "the coordinator is notified, Jonas gets the forward" "2" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = 'deviation' AND deviation_id = $D")"
! kipctl --json intake quarantine | grep -qE "udeblev|Bjarne|Testesen" &&
	pass "the quarantine holds no report text" || fail "the quarantine holds no report text"
! grep -qE "udeblev|Bjarne|Testesen|290256" "$TDIR/kipd.log" &&
	pass "the log holds no personal data" || fail "the log holds no personal data"

# Exactly once: a second pass finds nothing new; the same mail again is a
# duplicate; every mail is flagged on the server.
st=$(run_intake)
check_eq "a second pass reads nothing (all flagged done)" "0" "$(jq -r .last.read <<<"$st")"
deliver "$TDIR/valid.eml"
st=$(run_intake)
check_eq "the same Message-ID again is a duplicate" "1" "$(jq -r .last.duplicates <<<"$st")"
check_eq "and records nothing" "2" "$(deviations mail)"
flagged=$(grep -l 'KipDone\|kipdone' "$MAILDIRS/$KIP/dovecot-keywords" 2>/dev/null | wc -l)
check_eq "Dovecot knows the \$KipDone keyword" "1" "$flagged"

# A signed mail teaches kipd the sender's certificate.
check_eq "Peter's certificate was known already; Jonas's was not" "" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT coalesce(cert_fingerprint, '') FROM contacts WHERE id = $J")"
mk signed jonas.job@jobcenter.example "$SUBJ" "$TDIR/report.txt" "$(cert jonas.job@jobcenter.example)" \
	"$(key jonas.job@jobcenter.example)" --message-id jonas-1@jobcenter.example >"$TDIR/jonas.eml"
deliver "$TDIR/jonas.eml"
run_intake >/dev/null
check_eq "Jonas's report is recorded" "3" "$(deviations mail)"
[ -n "$(sqlite3 "$TDIR/kip.db" "SELECT cert_fingerprint FROM contacts WHERE id = $J")" ] &&
	pass "Jonas's certificate is learned from his signature" ||
	fail "Jonas's certificate is learned from his signature"
check_out "the learning is audited" "contact.cert.learned" \
	sqlite3 "$TDIR/kip.db" "SELECT action FROM audit WHERE object = 'contact:$J'"

# A partner whose software announces AES-GCM (SMIMECapabilities in the
# signature): the "auto" policy then gives them GCM.
check_eq "Peter has announced nothing yet" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT caps_gcm FROM contacts WHERE id = $P")"
mk signed "$P_ADDR" "$SUBJ" "$TDIR/report.txt" "$(cert $P_ADDR)" "$(key $P_ADDR)" \
	--kip-sign "$(dirname "$KIPD")/tools/smimesign" --message-id gcm-1@region.example >"$TDIR/gcm.eml"
deliver "$TDIR/gcm.eml"
run_intake >/dev/null
check_eq "his signed mail announcing AES-GCM is learned" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT caps_gcm FROM contacts WHERE id = $P")"
sed 's/^follow_up: .*/follow_up: 2014-10-15/' "$FIXTURES/bilag2.yaml" >"$TDIR/v2.yaml"
kipctl plan version add "$PLAN" --meeting "$M" --file "$TDIR/v2.yaml" >/dev/null
kipctl plan approve "$PLAN" --version 2 --how afterwards >/dev/null
check_eq "the next plan version goes to him with AES-GCM (auto policy)" "gcm" \
	"$(kipctl --json plan status "$PLAN" | jq -r --arg n "Peter Psykiatri" '[.messages[] | select(.name == $n and .kind == "plan" and .version == 2) | .cipher] | join(",")')"
check_eq "and to Karen, who announced nothing, with CBC" "cbc" \
	"$(kipctl --json plan status "$PLAN" | jq -r --arg n "Karen Koordinator" '[.messages[] | select(.name == $n and .kind == "plan" and .version == 2) | .cipher] | join(",")')"

# Replies to an invitation: from the participant's own address, the
# meeting's UID and current SEQUENCE.
MF=$(kipctl --json meeting schedule "$PLAN" --start "2030-03-05 10:00" --place "Rådhuset" | jq -r .id)
UID_="kip-meeting-$MF@kommune.example"
mk reply "$P_ADDR" "$UID_" 0 ACCEPTED --message-id reply-1@region.example >"$TDIR/r1.eml"
mk reply jonas.job@jobcenter.example "$UID_" 0 DECLINED --message-id reply-2@jobcenter.example \
	--sign "$(cert jonas.job@jobcenter.example)" "$(key jonas.job@jobcenter.example)" >"$TDIR/r2.eml"
mk reply "$P_ADDR" "$UID_" 7 TENTATIVE --message-id reply-3@region.example >"$TDIR/r3.eml"
mk reply ec.recipient@region.example "$UID_" 0 ACCEPTED --message-id reply-4@region.example >"$TDIR/r4.eml"
mk reply "$P_ADDR" "kip-meeting-999@kommune.example" 0 ACCEPTED --message-id reply-5@region.example >"$TDIR/r5.eml"
for i in 1 2 3 4 5; do deliver "$TDIR/r$i.eml"; done
st=$(run_intake)
check_eq "two replies are taken" "2" "$(jq -r .last.replies <<<"$st")"
ms=$(kipctl --json meeting show "$MF")
check_eq "Peter accepted (unsigned reply)" "accepted" \
	"$(jq -r --argjson c "$P" '.replies[] | select(.contact_id == $c) | .answer' <<<"$ms")"
check_eq "Jonas declined (signed reply)" "declined" \
	"$(jq -r --argjson c "$J" '.replies[] | select(.contact_id == $c) | .answer' <<<"$ms")"
check_eq "a reply to an old SEQUENCE is quarantined" "1" "$(quarantined stale-reply)"
check_eq "a reply from a non-participant is quarantined (and q4's report)" "2" "$(quarantined not-a-member)"
check_eq "a reply to an unknown meeting is quarantined" "1" "$(quarantined unknown-meeting)"
check_out "meeting show lists the answers" "accepted" kipctl meeting show "$MF"
# An answer changes what kip knows of a person: each recorded reply is an
# audit entry, by the intake acting as the contact, on the citizen's plan.
check_eq "each recorded reply is audited (meeting, citizen, plan)" \
	"2 meeting:$MF $C $PLAN" \
	"$(sqlite3 -separator ' ' "$TDIR/kip.db" "SELECT count(*), min(object), min(citizen_id), min(plan_id) FROM audit WHERE action = 'meeting.reply' AND outcome = 'ok' AND os_user = 'intake:mail'")"
check_out "and shows in the citizen's audit trail" "meeting.reply" \
	kipctl audit --citizen "$C"

# Mail is parsed in a process of its own, kip-inmail: kipd maps neither
# GMime nor libical, and a reader that dies or talks nonsense costs only
# the message it was reading (quarantined as unreadable, left in the
# mailbox) while kipd goes on with a new reader.
if [ -z "${KIPD_WRAP:-}" ]; then
	# (GLib it does map since the PDF rendering: Pango and cairo sit on
	# it. It parses no mail.)
	check_eq "kipd itself maps neither GMime nor libical" "0" \
		"$(grep -cE 'libgmime|libical' "/proc/$KIPD_PID/maps")"
fi
kip_stop
mkdir -p "$TDIR/alt"
cp "$KIPD" "$TDIR/alt/kipd"
cp "$ROOT/tests/tools/fake_inmail.py" "$TDIR/alt/kip-inmail"
export KIP_REAL_INMAIL=$BUILD_DIR/kip-inmail
# intake.timeout_s bounds the reader's answer too: 5 s here, for the hang
sed -i "s/timeout_s = $((10 * KIP_TEST_SLOW));/timeout_s = 5;/" "$TDIR/kipd.conf"
KIPD=$TDIR/alt/kipd kip_start
printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <crash@region.example>\r\nX-Kip-Test: crash\r\n\r\nx\r\n' \
	"$P_ADDR" "$KIP" "$SUBJ" >"$TDIR/crash.eml"
sed 's/crash/garbage/g' "$TDIR/crash.eml" >"$TDIR/garbage.eml"
sed 's/crash/hang/g' "$TDIR/crash.eml" >"$TDIR/hang.eml"
printf 'Mål: 1\n\nEfter læserens nedbrud.\n' >"$TDIR/after.txt"
mk signed "$P_ADDR" "$SUBJ" "$TDIR/after.txt" "$(cert $P_ADDR)" "$(key $P_ADDR)" \
	--message-id after-crash@region.example >"$TDIR/after.eml"
before=$(deviations mail)
for f in crash garbage hang after; do deliver "$TDIR/$f.eml"; done
st=$(run_intake)
check_eq "a reader that dies, one that talks nonsense, one that hangs: three unreadable" "3" "$(quarantined unreadable)"
details=$(kipctl --json intake quarantine | jq -r '.quarantine[] | select(.reason == "unreadable") | .detail')
check_out "the quarantine says how the reader failed" "stopped on a message .signal 11" echo "$details"
check_out "... and for the other" "answered something unreadable" echo "$details"
check_out "... and the one that hung past intake.timeout_s" "did not answer in time" echo "$details"
check_eq "the next mail is judged by a new reader and recorded" "1" "$(( $(deviations mail) - before ))"
check_eq "the pass ends without an error" "" "$(jq -r '.last_error // ""' <<<"$st")"
check_alive "kipd serves after its reader died"
check_eq "a second pass flags them done: nothing is read again" "0" "$(jq -r .last.read <<<"$(run_intake)")"
kip_stop
rm -rf "$TDIR/alt"
sed -i "s/timeout_s = 5;/timeout_s = $((10 * KIP_TEST_SLOW));/" "$TDIR/kipd.conf"
kip_start
sleep 1.2 # kipd's own first pass, a second after start, is over
run_intake >/dev/null

# kill -9 during intake: 30 reports, nothing lost, nothing doubled.
for i in $(seq 1 30); do
	printf 'Mål: 1\n\nRapport nummer %s.\n' "$i" >"$TDIR/n.txt"
	mk signed "$P_ADDR" "$SUBJ" "$TDIR/n.txt" "$(cert $P_ADDR)" "$(key $P_ADDR)" \
		--message-id "bulk-$i@region.example" >"$TDIR/bulk.eml"
	deliver "$TDIR/bulk.eml"
done
before=$(deviations mail)
kipctl intake run >/dev/null
sleep 0.4
kill -9 "$KIPD_PID"; wait "$KIPD_PID" 2>/dev/null; KIPD_PID=""
mid=$(( $(deviations mail) - before ))
echo "# kill -9 after $mid of 30 reports were recorded"
check_eq "the store is intact after kill -9" "ok" "$(sqlite3 "$TDIR/kip.db" 'PRAGMA integrity_check')"
kip_start
for _ in 1 2 3; do run_intake >/dev/null; done
check_eq "after the restart all 30 are recorded: none lost" "30" "$(( $(deviations mail) - before ))"
check_eq "none doubled (one deviation per Message-ID)" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM (SELECT source_id FROM deviations GROUP BY source_id HAVING count(*) > 1)")"
check_eq "and every mail is flagged done" "0" "$(jq -r .last.read <<<"$(run_intake)")"

# MQTT: a partner system publishes reports to kip/deviations/<its user>.
pub() { mosquitto_pub -h localhost -p "$MQTT_PORT" --cafile "$MQTT_CA" -q 1 "$@"; }
mosquitto_sub -h localhost -p "$MQTT_PORT" --cafile "$MQTT_CA" -u "$MQTT_SUB_USER" \
	-P "$MQTT_SUB_PASSWORD" -t 'kip/events/deviation.received' -v >"$TDIR/receipts" 2>/dev/null &
SUBPID=$!
wait_dev() { for _ in $(seq 1 100); do [ "$(deviations mqtt)" -ge "$1" ] && return 0; sleep 0.1; done; return 1; }
sleep 0.5
pub -u "$MQTT_PARTNER_USER" -P "$MQTT_PARTNER_PASSWORD" -t "kip/deviations/$MQTT_PARTNER_USER" \
	-m "{\"id\": \"dp-nord-0042\", \"plan\": $PLAN, \"goal\": 3, \"text\": \"Borgeren udeblev fra depotinjektion.\"}"
wait_dev 1 && pass "a report over MQTT is recorded" || fail "a report over MQTT is recorded"
check_eq "as Peter (mqtt.reporters)" "$P" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT reporter_id FROM deviations WHERE channel = 'mqtt'")"
pub -u "$MQTT_PARTNER_USER" -P "$MQTT_PARTNER_PASSWORD" -t "kip/deviations/$MQTT_PARTNER_USER" \
	-m "{\"id\": \"dp-nord-0042\", \"plan\": $PLAN, \"goal\": 3, \"text\": \"Borgeren udeblev fra depotinjektion.\"}"
pub -u "$MQTT_PARTNER_USER" -P "$MQTT_PARTNER_PASSWORD" -t "kip/deviations/$MQTT_PARTNER_USER" \
	-m "{\"id\": \"dp-nord-0043\", \"plan\": $PLAN, \"goal\": 3, \"cpr\": \"290256-5417\", \"text\": \"x\"}"
pub -u "$MQTT_OTHER_USER" -P "$MQTT_OTHER_PASSWORD" -t "kip/deviations/$MQTT_OTHER_USER" \
	-m "{\"id\": \"dp-syd-1\", \"plan\": $PLAN, \"goal\": 1, \"text\": \"x\"}"
# The ACL: dp-nord may not publish as dp-syd (the broker drops it).
pub -u "$MQTT_PARTNER_USER" -P "$MQTT_PARTNER_PASSWORD" -t "kip/deviations/$MQTT_OTHER_USER" \
	-m "{\"id\": \"forged\", \"plan\": $PLAN, \"goal\": 1, \"text\": \"x\"}"
pub -u "$MQTT_PARTNER_USER" -P "$MQTT_PARTNER_PASSWORD" -t "kip/deviations/$MQTT_PARTNER_USER" \
	-m "{\"id\": \"dp-nord-0044\", \"plan\": $PLAN, \"goal\": 42, \"text\": \"x\"}"
for _ in $(seq 1 50); do [ "$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM quarantine WHERE channel = 'mqtt'")" -ge 3 ] && break; sleep 0.1; done
check_eq "the same report id again records nothing" "1" "$(deviations mqtt)"
check_eq "a report outside the schema is quarantined" "1" \
	"$(kipctl --json intake quarantine | jq '[.quarantine[] | select(.channel == "mqtt" and .reason == "malformed")] | length')"
check_eq "a broker user not in mqtt.reporters is quarantined" "1" "$(quarantined unknown-sender)"
check_eq "a goal the plan lacks is quarantined with the rule" "1" \
	"$(kipctl --json intake quarantine | jq '[.quarantine[] | select(.channel == "mqtt" and .reason == "rule")] | length')"
check_eq "a report forged onto another user's topic never arrives" "0 0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM quarantine WHERE source_id LIKE '%forged%'") $(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM deviations WHERE source_id LIKE '%forged%'")" 
for _ in $(seq 1 50); do grep -q '"report":"dp-nord:dp-nord-0042"' "$TDIR/receipts" && break; sleep 0.1; done
grep -q '"report":"dp-nord:dp-nord-0042"' "$TDIR/receipts" &&
	pass "the event deviation.received carries the partner's report id as a receipt" ||
	fail "the event deviation.received carries the partner's report id as a receipt" "$(cat "$TDIR/receipts")"
kill "$SUBPID" 2>/dev/null

# A report kipd had acknowledged and kept in its inbox, but not yet
# judged, when it died, is judged at the next start.
kip_stop
hex=$(printf '{"id":"dp-nord-0050","plan":%s,"goal":2,"text":"Fra indbakken."}' "$PLAN" | od -An -tx1 | tr -d ' \n')
sqlite3 "$TDIR/kip.db" "INSERT INTO mqtt_inbox (username, payload, at) VALUES ('dp-nord', '$hex', 0)"
kip_start
for _ in $(seq 1 50); do [ "$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM mqtt_inbox")" = 0 ] && break; sleep 0.1; done
check_eq "a report left in the inbox is recorded at start" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM deviations WHERE source_id = 'dp-nord:dp-nord-0050'")"
check_eq "and the inbox is empty" "0" "$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM mqtt_inbox")"
! kipctl --json intake quarantine | grep -q "290256" &&
	pass "the quarantine does not echo a payload's CPR number" ||
	fail "the quarantine does not echo a payload's CPR number"
check_alive
kip_stop
t_done
