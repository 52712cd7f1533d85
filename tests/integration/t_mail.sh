#!/usr/bin/env bash
# Secure mail out against real servers: every approved version reaches every
# member and the citizen signed and encrypted (CBC and GCM, RSA and EC),
# read back with openssl cms and gpgsm; recipients without a usable
# certificate get a neutral notice; nothing personal in clear on the wire;
# invitations as signed iMIP; a server without STARTTLS gets nothing.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"

mail_conf "$POSTFIX_URL"
kip_start

# The network. Fictional people; the CPR number has a birth date in 2056.
add() { kipctl --json contact add --kind professional "$@" | jq -r .id; }
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--phone "+45 70 10 20 31" --cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--cert "$PKI/peter.psykiatri_at_region.example.pem" --cipher gcm)
E=$(add --name "Eva Elliptisk" --email ec.recipient@region.example \
	--cert "$PKI/ec_recipient.pem" --cipher cbc)
X=$(add --name "Xenia Udløbet" --email expired@region.example)
V=$(add --name "Viggo Spærret" --email revoked@region.example)
check_err "a revoked certificate is refused at import (chain and CRL checked)" \
	"certificate revoked" kipctl contact update "$V" --cert "$PKI/revoked.pem"
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" \
	--email borger@borger.example --cert "$PKI/borger_at_borger.example.pem" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
kipctl consent give "$C" --scope relatives --date 2026-11-01 --document "J.nr. 1" >/dev/null
L=$(kipctl --json contact add --kind relative --name "Lise Testesen" --citizen "$C" \
	--email lise.testesen@privat.example | jq -r .id)
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$E" "$X" "$V" "$L"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place "Rådhuset" | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null

# A certificate that expired after it was stored, and one revoked after it
# was stored (kipd stopped meanwhile).
kip_stop
sqlite3 "$TDIR/kip.db" "UPDATE contacts SET cert_pem = readfile('$PKI/expired.pem') WHERE id = $X"
sqlite3 "$TDIR/kip.db" "UPDATE contacts SET cert_pem = readfile('$PKI/revoked.pem') WHERE id = $V"
kip_start

conns0=$(grep -c "smtpd.*: connect from" "$POSTFIX_LOG" || true)
check_out "approval queues one message per member and the citizen" '"recipients": 7' \
	kipctl --json plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01
outbox_drained "$PLAN" && pass "the outbox drains" || fail "the outbox drains"
status=$(kipctl --json plan status "$PLAN")
st() { jq -r --arg n "$1" --arg k "$2" '[.messages[] | select(.name == $n and .kind == $k) | .state] | join(",")' <<<"$status"; }
check_eq "Karen's plan is sent" "sent" "$(st "Karen Koordinator" plan)"
check_eq "Peter's plan is sent" "sent" "$(st "Peter Psykiatri" plan)"
check_eq "the EC recipient's plan is sent" "sent" "$(st "Eva Elliptisk" plan)"
check_eq "the citizen's plan is sent" "sent" "$(st "Bjarne Testesen" plan)"
check_eq "an expired certificate means manual delivery" "manual" "$(st "Xenia Udløbet" plan)"
check_eq "a revoked certificate means manual delivery" "manual" "$(st "Viggo Spærret" plan)"
check_eq "a relative without certificate means manual delivery" "manual" "$(st "Lise Testesen" plan)"
reason() { jq -r --arg n "$1" '.messages[] | select(.name == $n and .kind == "plan") | .reason' <<<"$status"; }
check_eq "the reason for the expired one is recorded" "expired" "$(reason "Xenia Udløbet")"
check_eq "the reason for the revoked one is recorded" "revoked" "$(reason "Viggo Spærret")"
check_eq "the reason for the relative is recorded" "no certificate" "$(reason "Lise Testesen")"
check_eq "the three without a usable certificate get a neutral notice" "sent,sent,sent" \
	"$(jq -r '[.messages[] | select(.kind == "notice") | .state] | join(",")' <<<"$status")"
check_eq "Peter's policy gives GCM" "gcm" \
	"$(jq -r '.messages[] | select(.name == "Peter Psykiatri" and .kind == "plan") | .cipher' <<<"$status")"
check_eq "auto gives CBC to Karen (no GCM announced yet)" "cbc" \
	"$(jq -r '.messages[] | select(.name == "Karen Koordinator" and .kind == "plan") | .cipher' <<<"$status")"

# Many messages share one TLS connection (smtp.connections = 2).
conns=$(($(grep -c "smtpd.*: connect from" "$POSTFIX_LOG" || true) - conns0))
[ "$conns" -ge 1 ] && [ "$conns" -le 2 ] &&
	pass "7 messages went over $conns SMTP connection(s)" ||
	fail "7 messages went over at most 2 SMTP connections (saw $conns)"

for a in karen.koordinator@kommune.example peter.psykiatri@region.example \
	ec.recipient@region.example borger@borger.example expired@region.example \
	revoked@region.example lise.testesen@privat.example; do
	mail_wait_count "$a" 1 20 && pass "delivered to $a" || fail "delivered to $a"
done

# kipd encrypts each message when it sends it (daemon/sealed.h) and keeps
# nothing of a message once it is final: no ciphertext, no signed copy.
check_eq "no sent message is kept, encrypted or not" "0 0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox_sealed s JOIN outbox o USING (id) WHERE o.state = 'sent'") $(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox_entity e WHERE NOT EXISTS (SELECT 1 FROM outbox_sealed s WHERE s.entity_id = e.id)")"
check_eq "no plan message has a stored body" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox o JOIN outbox_body b USING (id) WHERE o.kind = 'plan'")"

# Read back: decrypt, verify the organisation's signature, find the plan.
f=$(newest karen.koordinator@kommune.example "Koordinerende indsatsplan")
check_eq "the outer subject is neutral" "Koordinerende indsatsplan – ref KIP-$PLAN" \
	"$(python3 "$ROOT/tests/mailpart.py" "$f" header Subject)"
check_out "Karen's message is enveloped-data (AES-256-CBC)" 'smime-type="?enveloped-data' \
	python3 "$ROOT/tests/mailpart.py" "$f" header Content-Type
# Postfix stores Maildir files with LF; what kipd sends is in its outbox.
check_eq "no line of any message kipd sends ends in a bare LF" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox_body WHERE
	  length(body) - length(replace(body, char(10), '')) <>
	  (length(body) - length(replace(body, char(13) || char(10), ''))) / 2")"
raw=$(bash "$SRV/smime-verify.sh" "$f" "$PKI/karen.koordinator_at_kommune.example.pem" \
	"$PKI/karen.koordinator_at_kommune.example.key" "$PKI/ca.pem" 2>"$TDIR/verify.err")
inner=$(python3 "$ROOT/tests/mailpart.py" - text <<<"$raw")
grep -q "agorafobi" <<<"$inner" && grep -q "Bjarne Testesen" <<<"$inner" &&
	pass "openssl cms decrypts and verifies Karen's plan (CBC, RSA)" ||
	fail "openssl cms decrypts and verifies Karen's plan (CBC, RSA)" "$(cat "$TDIR/verify.err")"
grep -q 'protected-headers="v1"' <<<"$raw" && pass "the real subject is a protected header inside" ||
	fail "the real subject is a protected header inside"
# Karen's key for gpgsm (legacy PKCS#12; gpgsm-p12.sh says why it may
# take more than one try).
bash "$SRV/gpgsm-p12.sh" "$PKI/karen.koordinator_at_kommune.example.pem" \
	"$PKI/karen.koordinator_at_kommune.example.key" test "$TDIR/karen.p12" 2>"$TDIR/p12.err" ||
	fail "a PKCS#12 of Karen's key that gpgsm imports" "$(cat "$TDIR/p12.err")"
ginner=$(bash "$SRV/gpgsm-verify.sh" "$f" "$TDIR/karen.p12" test "$PKI/ca.pem" 2>"$TDIR/gpgsm.err" |
	python3 "$ROOT/tests/mailpart.py" - text)
grep -q "agorafobi" <<<"$ginner" &&
	pass "gpgsm decrypts and verifies Karen's plan independently" ||
	fail "gpgsm decrypts and verifies Karen's plan independently" "$(tail -5 "$TDIR/gpgsm.err")"

f=$(newest peter.psykiatri@region.example "Koordinerende indsatsplan")
check_out "Peter's message is authEnveloped-data (AES-256-GCM)" 'smime-type="?authEnveloped-data' \
	python3 "$ROOT/tests/mailpart.py" "$f" header Content-Type
decrypt "$f" "$PKI/peter.psykiatri_at_region.example.pem" \
	"$PKI/peter.psykiatri_at_region.example.key" | grep -q "agorafobi" &&
	pass "openssl cms decrypts and verifies Peter's plan (GCM, RSA)" ||
	fail "openssl cms decrypts and verifies Peter's plan (GCM, RSA)" "$(cat "$TDIR/verify.err")"

f=$(newest ec.recipient@region.example "Koordinerende indsatsplan")
decrypt "$f" "$PKI/ec_recipient.pem" "$PKI/ec_recipient.key" | grep -q "agorafobi" &&
	pass "openssl cms decrypts and verifies the EC recipient's plan (ECDH)" ||
	fail "openssl cms decrypts and verifies the EC recipient's plan (ECDH)" "$(cat "$TDIR/verify.err")"
openssl cms -cmsout -print -in "$f" 2>/dev/null | grep -qiE "sha256kdf|1\.3\.132\.1\.11\.1" &&
	pass "the ECDH key agreement uses the SHA-256 KDF" || fail "the ECDH key agreement uses the SHA-256 KDF"

# A private mailbox's subject names neither the plan nor the service.
f=$(newest borger@borger.example "Besked – ref. KIP-")
decrypt "$f" "$PKI/borger_at_borger.example.pem" "$PKI/borger_at_borger.example.key" |
	grep -q "agorafobi" &&
	pass "the citizen gets the plan encrypted" || fail "the citizen gets the plan encrypted"

f=$(newest lise.testesen@privat.example "Besked – ref. KIP-")
notice=$(openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" 2>/dev/null)
grep -q "Kontakt Karen Koordinator" <<<"$(python3 -c '
import sys,email,email.policy
m=email.message_from_string(sys.stdin.read(),policy=email.policy.default)
for p in m.walk():
    if p.get_content_type()=="text/plain": print(p.get_payload(decode=True).decode())' <<<"$notice")" &&
	pass "the relative's notice is signed and names the coordinator" ||
	fail "the relative's notice is signed and names the coordinator" "$notice"

# Nothing personal in clear: every byte the server stored or logged.
for s in "Bjarne" "Testesen" "290256-5417" "290256" "agorafobi" "Prøvevej"; do
	if grep -rqF -- "$s" "$MAILDIRS" "$POSTFIX_LOG" 2>/dev/null; then
		fail "the SMTP server never saw '$s' in clear"
	else
		pass "the SMTP server never saw '$s' in clear"
	fi
done

# An update is distributed again.
sed 's/^follow_up: .*/follow_up: 2014-10-15/' "$FIXTURES/bilag2.yaml" >"$TDIR/v2.yaml"
kipctl plan version add "$PLAN" --meeting "$M" --file "$TDIR/v2.yaml" >/dev/null
kipctl plan approve "$PLAN" --version 2 --how afterwards >/dev/null
mail_wait_count karen.koordinator@kommune.example 2 20 &&
	pass "an update reaches Karen again" || fail "an update reaches Karen again"

# Invitations: a signed, neutral iMIP REQUEST and encrypted details.
outbox_drained "$PLAN" && mail_wait_count peter.psykiatri@region.example 2 20
ni=$(count peter.psykiatri@region.example); echo "# peter before the invitation: $ni"
MF=$(kipctl --json meeting schedule "$PLAN" --start "2030-03-05 10:00" --duration 90 \
	--place "Rådhuset, mødelokale 2" --video "https://video.kommune.example/rum-7" \
	--reason "Bjarne er ophørt med behandlingen i DP." \
	--situation "Bjarne drikker igen dagligt og har aflyst to samtaler." | jq -r .id)
outbox_drained "$PLAN" || fail "invitations drained"
mail_wait_count peter.psykiatri@region.example $((ni + 2)) 20 &&
	pass "Peter gets the invitation and its details: two messages" ||
	fail "Peter gets the invitation and its details: two messages"
f=$(newest peter.psykiatri@region.example "Invitation" multipart/signed)
types=$(openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" -out "$TDIR/inv.eml" 2>&1)
check_out "the invitation's signature verifies" "Verification successful" echo "$types"
ics=$(python3 "$ROOT/tests/mailpart.py" "$TDIR/inv.eml" part text/calendar)
check_out "the invitation is METHOD:REQUEST" "^METHOD:REQUEST" echo "$ics"
check_out "it carries the meeting's UID and SEQUENCE:0" "SEQUENCE:0" echo "$ics"
check_out "it has a VTIMEZONE for Europe/Copenhagen" "TZID:Europe/Copenhagen" echo "$ics"
check_out "it asks Peter to answer" "ATTENDEE;.*RSVP=TRUE.*(peter.psykiatri@region.example|$)" \
	sh -c "printf '%s' \"\$1\" | tr -d '\r' | sed ':a;N;\$!ba;s/\n //g'" sh "$ics"
check_out "the calendar part is text/calendar with method=REQUEST" 'text/calendar; charset="?utf-8"?; method=REQUEST' \
	grep -i "content-type: text/calendar" "$TDIR/inv.eml"
! grep -qE "Bjarne|Testesen|ophørt|drikker" <<<"$ics" && pass "the calendar object holds no personal data" ||
	fail "the calendar object holds no personal data" "$ics"
# It travels in clear: it names its recipient alone as attendee, and no
# other participant's address (the citizen's and the relative's above all,
# whose addresses say who they are) is in any invitation a professional
# gets, as raw bytes.
unfolded=$(printf '%s' "$ics" | tr -d '\r' | sed ':a;N;$!ba;s/\n //g')
check_eq "Peter's invitation names him alone as attendee" "mailto:peter.psykiatri@region.example" \
	"$(grep '^ATTENDEE' <<<"$unfolded" | sed 's/.*://' | tr '\n' ' ' | sed 's/ $//' | sed 's/^/mailto:/')"
leaks=""
for w in karen.koordinator peter.psykiatri ec.recipient; do
	for g in $(mail_files "$w@$( [ $w = karen.koordinator ] && echo kommune || echo region).example"); do
		python3 "$ROOT/tests/mailpart.py" "$g" header Subject | grep -q "^Invitation" || continue
		# (the details beside it are encrypted)
		python3 "$ROOT/tests/mailpart.py" "$g" header Content-Type | grep -q multipart/signed || continue
		# the calendar object, decoded from the signed entity
		openssl cms -verify -noverify -in "$g" -out "$TDIR/scan.eml" >/dev/null 2>&1
		cal=$(python3 "$ROOT/tests/mailpart.py" "$TDIR/scan.eml" part text/calendar |
			tr -d '\r' | sed ':a;N;$!ba;s/\n //g')
		[ -n "$cal" ] || leaks+="$w: an invitation without a calendar object; "
		for a in borger@borger.example lise.testesen@privat.example; do
			grep -qF "$a" <<<"$cal" && leaks+="$w has $a; "
		done
		[ "$w" = peter.psykiatri ] || ! grep -qF peter.psykiatri@region.example <<<"$cal" ||
			leaks+="$w has Peter's address; "
	done
done
check_eq "no invitation to a professional carries another participant's address" "" "$leaks"
det=""
for g in $(mail_files peter.psykiatri@region.example); do
	if python3 "$ROOT/tests/mailpart.py" "$g" header Content-Type | grep -q pkcs7-mime; then
		x=$(decrypt "$g" "$PKI/peter.psykiatri_at_region.example.pem" \
			"$PKI/peter.psykiatri_at_region.example.key" || true)
		grep -q "drikker igen" <<<"$x" && det=$x
	fi
done
grep -q "ophørt med behandlingen" <<<"$det" && grep -q "Medbring viden" <<<"$det" &&
	pass "the details arrive encrypted: reason, situation, what to bring" ||
	fail "the details arrive encrypted: reason, situation, what to bring"
mail_settled || true
n0=$(count peter.psykiatri@region.example)
kipctl meeting move "$MF" --start "2030-03-06 10:00" >/dev/null
mail_wait_count peter.psykiatri@region.example $((n0 + 2)) 20 || true
f=$(newest peter.psykiatri@region.example "Invitation" multipart/signed)
openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" -out "$TDIR/inv2.eml" >/dev/null 2>&1
check_out "a moved meeting is re-sent with SEQUENCE:1" "SEQUENCE:1" \
	python3 "$ROOT/tests/mailpart.py" "$TDIR/inv2.eml" part text/calendar
kipctl meeting cancel "$MF" >/dev/null
mail_wait_count peter.psykiatri@region.example $((n0 + 3)) 20 || true
f=$(newest peter.psykiatri@region.example "Aflyst")
openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" -out "$TDIR/inv3.eml" >/dev/null 2>&1
check_out "a cancelled meeting sends METHOD:CANCEL" "METHOD:CANCEL" \
	python3 "$ROOT/tests/mailpart.py" "$TDIR/inv3.eml" part text/calendar

# A server without STARTTLS gets nothing but EHLO.
kip_stop
mail_conf "$PLAIN_URL"
kip_start
: >"$RECORDER_LOG"
kipctl plan distribute "$PLAN" --version 2 >/dev/null
# Poll, not a fixed sleep: under valgrind the first attempt takes seconds.
for _ in $(seq 1 120); do
	status=$(kipctl --json plan status "$PLAN" --version 2)
	jq -e '[.messages[] | select(.kind == "plan" and .state == "deferred")] | length > 0' \
		<<<"$status" >/dev/null && break
	sleep 0.5
done
jq -e '[.messages[] | select(.kind == "plan" and .state == "deferred")] | length > 0' <<<"$status" >/dev/null &&
	pass "without STARTTLS the message is deferred" || fail "without STARTTLS the message is deferred" "$status"
jq -r '.messages[] | select(.state == "deferred") | .last_reply' <<<"$status" | head -1 | grep -qiE "ssl|tls|starttls" &&
	pass "the deferral names the missing TLS" || fail "the deferral names the missing TLS"
jq -r '.messages[] | select(.state == "deferred") | .reason' <<<"$status" | head -1 |
	grep -q "the server offered no STARTTLS" &&
	pass "plan status says in its reason why the message waits" ||
	fail "plan status says in its reason why the message waits" "$status"
line=$(grep -E "outbox: message [0-9]+ deferred" "$TDIR/kipd.log" | tail -1)
grep -q "offered no STARTTLS" <<<"$line" && ! grep -qE "deferred \(attempt [0-9]+, smtp 2[0-9][0-9]" "$TDIR/kipd.log" &&
	pass "the log says why too, and no deferral is put down to a 2xx reply" ||
	fail "the log says why too, and no deferral is put down to a 2xx reply" \
		"$line; $(grep -E "deferred \(attempt [0-9]+, smtp 2" "$TDIR/kipd.log" | head -2)"
grep -qi "EHLO" "$RECORDER_LOG" && ! grep -qiE "MAIL FROM|RCPT|DATA|AUTH" "$RECORDER_LOG" &&
	pass "the server without STARTTLS saw only EHLO" || fail "the server without STARTTLS saw only EHLO" "$(head "$RECORDER_LOG")"
[ -z "$(ls -A "$RECORDER_MAIL" 2>/dev/null)" ] && pass "and received no message" || fail "and received no message"
t_done
