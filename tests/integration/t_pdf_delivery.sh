#!/usr/bin/env bash
# The encrypted PDF for those without a certificate (--delivery pdf), against
# real Postfix and Dovecot: the relative and the citizen get the plan as an
# AES-256 password-protected PDF beside the neutral notice; qpdf opens it
# with the passphrase (pdftotext then reads the plan) and not without it or
# with a wrong one; everything in clear passes tests/clearscan.py; the
# coordinator reads the passphrases in the approval's reply and in an
# encrypted notice, and nowhere else: not in kipd's log, the event log, the
# MQTT queue, the audit trail or any mail in clear. plan status shows
# "sent (pdf)" until the hand-over, which deletes the passphrase; one never
# handed over is deleted after plans.pdf_passphrase_days.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"
. "$ROOT/tests/clock_lib.sh"

mail_conf "$POSTFIX_URL" 'private = { name = "Testkommune"; }; plans = { pdf_passphrase_days = 10; };'
kip_start

add() { kipctl --json contact add "$@" | jq -r .id; }
K=$(add --kind professional --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--phone "+45 70 10 20 31" --cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --kind professional --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--cert "$PKI/peter.psykiatri_at_region.example.pem")
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" \
	--email borger@borger.example --delivery pdf | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
kipctl consent give "$C" --scope relatives --date 2026-11-01 --document "J.nr. 1" >/dev/null
L=$(add --kind relative --name "Lise Testesen" --citizen "$C" --email lise.testesen@privat.example \
	--phone "+45 30 30 30 30" --delivery pdf)
O=$(add --kind relative --name "Ole Testesen" --citizen "$C" --email ole.testesen@privat.example)

check_out "contact show says the delivery" '"delivery": "pdf"' kipctl --json contact show "$L"
check_out "a contact's delivery is auto by default" '"delivery": "auto"' kipctl --json contact show "$O"
check_out "citizen show says the delivery" '"delivery": "pdf"' kipctl --json citizen show "$C"
check_err "an unknown delivery is refused" "delivery" kipctl contact update "$O" --delivery fax
kipctl contact update "$O" --delivery pdf >/dev/null
kipctl contact update "$O" --delivery auto >/dev/null
check_out "and it can be changed back" '"delivery": "auto"' kipctl --json contact show "$O"
check_out "contact show says how a plan reaches Lise" \
	'"mail": "an encrypted PDF, its passphrase given by phone \(no certificate\)"' kipctl --json contact show "$L"

PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$L" "$O"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
M=$(kipctl --json meeting schedule "$PLAN" --start "$(kdate -d "+10 days" "+%Y-%m-%d 10:00")" \
	--place "Rådhuset, lokale 3" | jq -r .id)
sed "s/^follow_up: .*/follow_up: $(kdate -d "+3 months" +%Y-%m-%d)/" "$FIXTURES/bilag2.yaml" >"$TDIR/plan.yaml"
kipctl plan version add "$PLAN" --meeting "$M" --file "$TDIR/plan.yaml" >/dev/null
as daemon "$KIPCTL" --json plan approve "$PLAN" --version 1 --how meeting --date 2026-11-02 >"$TDIR/approve.json"
PL=$(jq -r ".passphrases[] | select(.contact == $L) | .passphrase" "$TDIR/approve.json")
PC=$(jq -r '.passphrases[] | select(.contact == 0) | .passphrase' "$TDIR/approve.json")
check_eq "the approval's reply gives the passphrases of the two with delivery pdf" "2" \
	"$(jq '.passphrases | length' "$TDIR/approve.json")"
check_eq "and names whose they are" "Lise Testesen" \
	"$(jq -r ".passphrases[] | select(.contact == $L) | .name" "$TDIR/approve.json")"
check_out "a passphrase is eight words of letters" '^[a-z]{3,9}(-[a-z]{3,9}){7}$' echo "$PL"
check "each recipient has their own" test "$PL" != "$PC"

outbox_drained "$PLAN" 600 && pass "the outbox drains" || fail "the outbox drains"
sent_to() { sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE state = 'sent' AND lower(recipient) = '$1'"; }
for a in lise.testesen@privat.example borger@borger.example karen.koordinator@kommune.example \
	ole.testesen@privat.example; do
	mail_wait_count "$a" "$(sent_to "$a")" 30 || true
done

# pdf_mail ADDRESS: the newest message to ADDRESS that carries a PDF. Not
# simply the newest signed one: the invitation, signed too, goes on the
# other connection at the same time and may arrive after it.
pdf_mail() {
	local f files
	files=$(mail_files "$1")
	[ -n "$files" ] || return 1
	for f in $(ls -t $files); do
		grep -qi '^Content-Type: application/pdf' "$f" && echo "$f" && return 0
	done
	return 1
}
f=$(pdf_mail lise.testesen@privat.example)
check_out "Lise's mail is signed, not encrypted" "^multipart/signed" \
	python3 "$ROOT/tests/mailpart.py" "${f:-/dev/null}" header Content-Type
check "its signature verifies" openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" -out "$TDIR/lise.eml"
types=$(python3 "$ROOT/tests/mailpart.py" "$TDIR/lise.eml" types)
check_out "it carries a PDF" "application/pdf" echo "$types"
check_eq "and no HTML, no YAML, nothing but the notice and the PDF" \
	"multipart/mixed text/plain application/pdf" "$(echo $types)"
check_out "the text is the neutral notice" "ny besked til dig \\(ref. KIP-$PLAN\\)" \
	python3 "$ROOT/tests/mailpart.py" "$TDIR/lise.eml" text
notice=$(python3 "$ROOT/tests/mailpart.py" "$TDIR/lise.eml" text | tr -d '\r' | tr '\n' ' ')
grep -q "vedhæftede fil, som er beskyttet med en adgangskode" <<<"$notice" &&
	grep -q "Du får adgangskoden over telefonen af" <<<"$notice" &&
	! grep -q "sendes den ikke med almindelig e-mail" <<<"$notice" &&
	pass "it says the plan is attached behind a passphrase given by phone" ||
	fail "it says the plan is attached behind a passphrase given by phone" "$notice"
python3 "$ROOT/tests/mailpart.py" "$TDIR/lise.eml" save application/pdf "$TDIR/lise.pdf" >"$TDIR/lise.pdf.name"
check_eq "the PDF's file name says nothing but the reference" "KIP-$PLAN-1.pdf" "$(cat "$TDIR/lise.pdf.name")"
check_out "the PDF is encrypted with AES-256 (R6)" "R = 6" qpdf --show-encryption --password="$PL" "$TDIR/lise.pdf"
check_out "with AES-256 for streams and strings" "stream encryption method: AESv3" \
	qpdf --show-encryption --password="$PL" "$TDIR/lise.pdf"
check "qpdf opens it with the passphrase" qpdf --password="$PL" --decrypt "$TDIR/lise.pdf" "$TDIR/lise-open.pdf"
check_out "and pdftotext then reads the plan" "Koordinerende indsatsplan" pdftotext "$TDIR/lise-open.pdf" -
check_out "the citizen's name is in it" "Bjarne Testesen" pdftotext "$TDIR/lise-open.pdf" -
qpdf --decrypt "$TDIR/lise.pdf" "$TDIR/x.pdf" >"$TDIR/nopass.out" 2>&1
check_eq "qpdf cannot open it without a password" "2" "$?"
check_out "(it asks for one)" "invalid password" cat "$TDIR/nopass.out"
check_err "nor with another recipient's passphrase" "invalid password" \
	qpdf --password="$PC" --decrypt "$TDIR/lise.pdf" "$TDIR/x.pdf"
check_err "pdftotext cannot read it either" "Incorrect password|Command Line Error" pdftotext "$TDIR/lise.pdf" -
f=$(pdf_mail borger@borger.example)
openssl cms -verify -noverify -in "$f" -out "$TDIR/borger.eml" 2>/dev/null
python3 "$ROOT/tests/mailpart.py" "$TDIR/borger.eml" save application/pdf "$TDIR/borger.pdf" >/dev/null
check "the citizen's PDF opens with the citizen's passphrase" \
	qpdf --password="$PC" --decrypt "$TDIR/borger.pdf" "$TDIR/borger-open.pdf"

# Everything in clear to the private mailboxes reveals nothing.
forbid=(--forbid "Lise Testesen" --forbid "Ole Testesen" --forbid "+45 30 30 30 30"
	--forbid "Bjarne Testesen" --forbid "290256" --forbid "$PL" --forbid "$PC")
for a in lise.testesen@privat.example borger@borger.example ole.testesen@privat.example; do
	# shellcheck disable=SC2046 # one word per file
	out=$(python3 "$ROOT/tests/clearscan.py" --vocab "${forbid[@]}" $(mail_files "$a"))
	summary=$(tail -1 <<<"$out")
	check_eq "nothing in clear to $a reveals the service, a person or a passphrase ($summary)" \
		"0" "$(awk '{ print $6 }' <<<"$summary")"
	[ "$(awk '{ print $6 }' <<<"$summary")" = 0 ] || echo "$out" | head -10 | sed 's/^/    # /'
done
check_eq "Ole, without delivery pdf, still gets no PDF" "" \
	"$(for g in $(mail_files ole.testesen@privat.example); do
		openssl cms -verify -noverify -in "$g" 2>/dev/null | python3 "$ROOT/tests/mailpart.py" - types
	done | grep pdf)"

# The coordinator's encrypted notice has them.
f=$(newest karen.koordinator@kommune.example "Adgangskoder til PDF" enveloped-data)
notice=$(decrypt "$f" "$PKI/karen.koordinator_at_kommune.example.pem" "$PKI/karen.koordinator_at_kommune.example.key")
check_out "the coordinator's encrypted notice gives Lise's passphrase" "Lise Testesen: $PL" echo "$notice"
check_out "and the citizen's" "Bjarne Testesen: $PC" echo "$notice"

# Nowhere else.
for p in "$PL" "$PC"; do
	check "a passphrase is in no mail file in clear" \
		bash -c "! grep -rlF -- '$p' '$MAILDIRS'"
	check "nor in kipd's log" bash -c "! grep -qF -- '$p' '$TDIR/kipd.log'"
	check_eq "nor in the event log, the MQTT queue or the audit trail" "0" \
		"$(sqlite3 "$TDIR/kip.db" "SELECT (SELECT count(*) FROM event_log WHERE
			type || coalesce(citizen_id, '') LIKE '%$p%') +
			(SELECT count(*) FROM mqtt_outbox WHERE payload LIKE '%$p%') +
			(SELECT count(*) FROM audit WHERE action || coalesce(object, '')
				|| coalesce(outcome, '') LIKE '%$p%')")"
done

# plan status: sent (pdf) until handed over; the hand-over deletes it.
st() { kipctl --json plan status "$PLAN" | jq -r ".messages[] | select(.kind == \"plan\" and .recipient == \"$1\") | .state"; }
check_eq "plan status shows Lise's copy as sent (pdf)" "sent (pdf)" "$(st lise.testesen@privat.example)"
check_eq "and the citizen's" "sent (pdf)" "$(st borger@borger.example)"
check_eq "two passphrases are kept" "2" "$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM pdf_passphrases")"
as daemon "$KIPCTL" plan handed "$PLAN" --version 1 --contact "$L" --how "telefon" >/dev/null
check_eq "after the hand-over Lise's copy is sent" "sent" "$(st lise.testesen@privat.example)"
check_eq "and handed" "handed" "$(kipctl --json plan status "$PLAN" |
	jq -r ".messages[] | select(.kind == \"plan\" and .recipient == \"lise.testesen@privat.example\") | .delivery")"
check_eq "and her passphrase is deleted" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM pdf_passphrases WHERE contact_id = $L")"
check_eq "the citizen's is still kept" "1" "$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM pdf_passphrases")"
at $((NOW0 + 9 * DAY))
kipctl scheduler run >/dev/null
check_eq "after 9 days it is still kept" "1" "$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM pdf_passphrases")"
as daemon "$KIPCTL" --json digest >"$TDIR/digest.json"
check_eq "the coordinator's digest lists the citizen's PDF not handed over" \
	"encrypted PDF sent: give the passphrase by phone" \
	"$(jq -r '.plans[0].manual[] | select(.contact == 0) | .reason' "$TDIR/digest.json")"
check_eq "not Lise's, handed over" "" \
	"$(jq -r ".plans[0].manual[] | select(.contact == $L) | .reason" "$TDIR/digest.json")"
at $((NOW0 + 10 * DAY + 60))
kipctl scheduler run >/dev/null
check_eq "after plans.pdf_passphrase_days (10) it is deleted" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM pdf_passphrases")"
check_eq "the citizen's copy still shows sent (pdf): not handed over" "sent (pdf)" "$(st borger@borger.example)"
check "and the deletion says no passphrase in the log" bash -c "! grep -qF -- '$PC' '$TDIR/kipd.log'"
check_eq "plan status notes that it must be sent again" \
	"passphrase deleted: send it again (plan distribute --contact or --citizen)" \
	"$(kipctl --json plan status "$PLAN" | jq -r '.messages[] | select(.kind == "plan" and .recipient == "borger@borger.example") | .note')"
as daemon "$KIPCTL" --json digest >"$TDIR/digest.json"
check_eq "and the digest says why it still waits" \
	"encrypted PDF sent, its passphrase deleted: send it again" \
	"$(jq -r '.plans[0].manual[] | select(.contact == 0) | .reason' "$TDIR/digest.json")"
# The digest's mail at its hour (07:00) the next day, in Danish, says how.
at "$(kdate -d "$(kdate -d "@$((NOW0 + 11 * DAY))" +%F) 07:05" +%s)"
mail_settled || true
n0=$(count karen.koordinator@kommune.example)
kipctl scheduler run >/dev/null
mail_wait_count karen.koordinator@kommune.example $((n0 + 1)) 30 || true
f=$(newest karen.koordinator@kommune.example "Daglig oversigt")
text=$(decrypt "$f" "$PKI/karen.koordinator_at_kommune.example.pem" "$PKI/karen.koordinator_at_kommune.example.key" | tr -d '\r')
check_out "Karen's digest says the passphrase was deleted" "krypteret PDF sendt, adgangskoden er slettet: send planen igen" \
	echo "$text"
check_out "and how to send it with a new one" "Send den med en ny adgangskode: kipctl plan distribute $PLAN --version 1 --citizen" \
	echo "$text"
check_out "or to record the hand-over" "Eller når den er udleveret: kipctl plan handed $PLAN --version 1 --citizen" \
	echo "$text"

# A new distribution of the version draws new passphrases, shown in the
# reply as kipctl prints it to a terminal.
as daemon "$KIPCTL" plan distribute "$PLAN" --version 1 >"$TDIR/again.txt"
check_out "kipctl prints the new passphrases" '[a-z]{3,9}(-[a-z]{3,9}){7}' cat "$TDIR/again.txt"
check_out "with whose they are" "Lise Testesen" cat "$TDIR/again.txt"
grep -qF -- "$PL" "$TDIR/again.txt" && fail "they are new" || pass "they are new"
check_eq "and kept again" "2" "$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM pdf_passphrases")"
# The copies sent again replace the ones before: the digest no longer
# asks for the citizen's old PDF, and plan status counts each recipient
# once, noting the earlier copies.
as daemon "$KIPCTL" --json digest >"$TDIR/digest2.json"
check_eq "the digest no longer lists the citizen's earlier PDF" "" \
	"$(jq -r '.plans[0].manual[]? | select(.contact == 0) | .reason' "$TDIR/digest2.json")"
check_eq "plan status counts one copy per recipient" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(DISTINCT coalesce(contact_id, 0)) FROM outbox WHERE plan_id = $PLAN AND kind = 'plan' AND version = 1")" \
	"$(kipctl --json plan status "$PLAN" --version 1 | jq '.versions[0].copies')"
check_eq "and says of the citizen's first copy that the newer one counts" \
	"sent again later: the newer copy counts" \
	"$(kipctl --json plan status "$PLAN" | jq -r '[.messages[] | select(.kind == "plan" and .recipient == "borger@borger.example")][0].note')"
as daemon "$KIPCTL" plan handed "$PLAN" --version 1 --citizen --how "telefon" >/dev/null
check_eq "a hand-over is recorded on the newest copy" "null handed" \
	"$(kipctl --json plan status "$PLAN" | jq -r '[.messages[] | select(.kind == "plan" and .recipient == "borger@borger.example") | .delivery] | "\(.[0]) \(.[-1])"')"

# --- a member who joins after the approval ----------------------------------
# gets the version in force at once, as the others got it, and nobody else
# gets it again: Tove as an encrypted PDF, her passphrase in the reply;
# Jonas encrypted to his certificate. plan distribute --contact sends to
# one member alone.
outbox_drained "$PLAN" 600 || fail "the outbox drains before the new members"
plan_rows() { sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = 'plan' AND plan_id = $PLAN ${1:+AND contact_id = $1}"; }
before=$(plan_rows)
T=$(add --kind relative --name "Tove Testesen" --citizen "$C" --email tove.testesen@privat.example \
	--phone "+45 31 31 31 31" --delivery pdf)
as daemon "$KIPCTL" --json plan member add "$PLAN" "$T" >"$TDIR/join.json"
check_eq "a member added after the approval is sent the version in force" "1" \
	"$(jq -r .sent_version "$TDIR/join.json")"
PT=$(jq -r ".passphrases[] | select(.contact == $T) | .passphrase" "$TDIR/join.json")
check_out "the reply gives her passphrase" '^[a-z]{3,9}(-[a-z]{3,9}){7}$' echo "$PT"
check_eq "and only hers" "1" "$(jq '.passphrases | length' "$TDIR/join.json")"
check_eq "one copy is queued, for her alone" "$((before + 1)) 1" "$(plan_rows) $(plan_rows "$T")"
outbox_drained "$PLAN" 600 || fail "the outbox drains after Tove joined"
mail_wait_count tove.testesen@privat.example 1 30 && pass "Tove's mail arrives" || fail "Tove's mail arrives"
f=$(pdf_mail tove.testesen@privat.example)
openssl cms -verify -noverify -in "$f" -out "$TDIR/tove.eml" 2>/dev/null
python3 "$ROOT/tests/mailpart.py" "$TDIR/tove.eml" save application/pdf "$TDIR/tove.pdf" >/dev/null
check "her PDF opens with her passphrase" qpdf --password="$PT" --decrypt "$TDIR/tove.pdf" "$TDIR/tove-open.pdf"
check_out "and holds the plan" "Koordinerende indsatsplan" pdftotext "$TDIR/tove-open.pdf" -
check_eq "plan status shows her copy" "sent (pdf)" "$(st tove.testesen@privat.example)"

J=$(add --kind professional --name "Jonas Job" --email jonas.job@jobcenter.example \
	--cert "$PKI/jonas.job_at_jobcenter.example.pem")
as daemon "$KIPCTL" plan member add "$PLAN" "$J" >"$TDIR/join2.txt"
check_out "kipctl says which version went to a professional who joined" "sent_version.*1" cat "$TDIR/join2.txt"
check "and gives no passphrase for a certificate's copy" bash -c "! grep -q passphrase '$TDIR/join2.txt'"
outbox_drained "$PLAN" 600 || fail "the outbox drains after Jonas joined"
mail_wait_count jonas.job@jobcenter.example 1 30 || true
f=$(newest jonas.job@jobcenter.example "Koordinerende indsatsplan")
decrypt "$f" "$PKI/jonas.job_at_jobcenter.example.pem" "$PKI/jonas.job_at_jobcenter.example.key" |
	grep -q "Bjarne Testesen" && pass "Jonas's copy opens with his key" || fail "Jonas's copy opens with his key"

N=$(add --kind professional --name "Nina Nabo" --email nina.nabo@region.example)
check_err "distribute --contact refuses a contact who is not a member" "is not a member of plan" \
	as daemon "$KIPCTL" plan distribute "$PLAN" --version 1 --contact "$N"
before=$(plan_rows)
check_eq "distribute --contact sends to that member alone" "1" \
	"$(as daemon "$KIPCTL" --json plan distribute "$PLAN" --version 1 --contact "$J" | jq -r .recipients)"
check_eq "one copy more, Jonas's" "$((before + 1)) 2" "$(plan_rows) $(plan_rows "$J")"
cit_rows() { sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = 'plan' AND plan_id = $PLAN AND contact_id IS NULL"; }
before=$(plan_rows) c0=$(cit_rows)
as daemon "$KIPCTL" --json plan distribute "$PLAN" --version 1 --citizen >"$TDIR/cit.json"
check_eq "distribute --citizen sends to the citizen alone, with a new passphrase" "1 $((before + 1)) $((c0 + 1)) 0" \
	"$(jq -r '"\(.recipients) \(.passphrases | length)"' "$TDIR/cit.json" | cut -d' ' -f1) $(plan_rows) $(cit_rows) $(jq '.passphrases[0].contact' "$TDIR/cit.json")"
check_err "not both --contact and --citizen" "not both" \
	as daemon "$KIPCTL" plan distribute "$PLAN" --version 1 --citizen --contact "$J"

# A plan without an approved version: a new member is sent nothing.
PLAN2=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
check_eq "a member of a plan without an approved version is sent nothing" "null 0" \
	"$(as daemon "$KIPCTL" --json plan member add "$PLAN2" "$P" | jq -r .sent_version) $(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE plan_id = $PLAN2")"
check_alive
t_done
