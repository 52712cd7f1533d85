#!/usr/bin/env bash
# What travels in clear names nothing about the citizen: against real
# servers, a plan's whole round (distribution, invitations, a reminder, a
# deviation forwarded, a moved and a cancelled meeting) reaches the
# citizen, two relatives, a supporter and a professional with a private
# mailbox, and everything they receive in clear (headers, every MIME part
# decoded, the iCalendar, the certificates of a signature) is searched for
# the words that disclose the service (tests/clearscan.py) and for any
# other participant's address, name or phone: 0 hits. Every message in
# clear to a professional is searched for the private participants'
# details: 0 hits. Professionals keep the informative wording. The texts
# can be replaced in kipd.conf, and a bad one is refused. docs/PRIVACY.md.
. "$(dirname "$0")/../lib.sh"
# The service's own name, as professionals see it.
KIP_ORG_NAME="Testkommune, Socialpsykiatri"
. "$ROOT/tests/mail_lib.sh"
. "$ROOT/tests/clock_lib.sh"

mail_conf "$POSTFIX_URL" 'private = { name = "Testkommune"; };'
kip_start

# The network. Fictional people; the CPR number has a birth date in 2056.
add() { kipctl --json contact add "$@" | jq -r .id; }
K=$(add --kind professional --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--phone "+45 70 10 20 31" --cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --kind professional --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--cert "$PKI/peter.psykiatri_at_region.example.pem" --title "Overlæge" \
	--organisation "Psykiatrisk Center Testby")
J=$(add --kind professional --name "Jonas Job" --email jonas.job@jobcenter.example \
	--cert "$PKI/jonas.job_at_jobcenter.example.pem")
# A general practitioner whose address is a private one, without a certificate.
G=$(add --kind professional --name "Gitte Lægesen" --email gitte.laegesen@fritmail.example \
	--mailbox private)
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" \
	--email borger@borger.example --cert "$PKI/borger_at_borger.example.pem" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
kipctl consent give "$C" --scope relatives --date 2026-11-01 --document "J.nr. 1" >/dev/null
L=$(add --kind relative --name "Lise Testesen" --citizen "$C" --email lise.testesen@privat.example \
	--phone "+45 30 30 30 30")
O=$(add --kind relative --name "Ole Testesen" --citizen "$C" --email ole.testesen@privat.example)
B=$(add --kind supporter --name "Bent Bisidder" --citizen "$C" --email bent.bisidder@privat.example)

check_out "a professional can be marked as a private mailbox" '"mailbox": "private"' \
	kipctl --json contact show "$G"
check_out "a relative's mailbox is private" '"mailbox": "private"' kipctl --json contact show "$L"
check_out "a professional's is a work mailbox by default" '"mailbox": "work"' \
	kipctl --json contact show "$P"
check_err "a relative's mailbox cannot be made a work mailbox" "always private" \
	kipctl contact update "$L" --mailbox work

PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$J" "$G" "$L" "$O" "$B"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done

# A meeting ten days ahead (its 14-day reminder is due at once) at a place
# that names the service, with a video link that does too.
START=$(kdate -d "+10 days" "+%Y-%m-%d 10:00")
M=$(kipctl --json meeting schedule "$PLAN" --start "$START" \
	--place "Psykiatrisk Center Testby, afsnit P3" \
	--video "https://video.region.example/psykiatri-p3" \
	--reason "Bjarne drikker igen" --situation "Er ophørt med behandlingen" | jq -r .id)
sed "s/^follow_up: .*/follow_up: $(kdate -d "+3 months" +%Y-%m-%d)/" "$FIXTURES/bilag2.yaml" >"$TDIR/plan.yaml"
kipctl plan version add "$PLAN" --meeting "$M" --file "$TDIR/plan.yaml" >/dev/null
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2026-11-02 >/dev/null
# The day before the meeting: the reminders go out.
at $(($(kdate -d "$START" +%s) - DAY + 600))
kipctl scheduler run >/dev/null
at "$(date +%s)"
D=$(as bin "$KIPCTL" --json deviation report "$PLAN" --goal 1 \
	--text "Bjarne mødte ikke op til behandling." | jq -r .id)
# Gitte, a professional member, has it forwarded automatically; Lise by hand.
as daemon "$KIPCTL" deviation forward "$D" --to "$L" >/dev/null
# A second meeting at a place given for the calendar, moved, then cancelled.
M2=$(kipctl --json meeting schedule "$PLAN" --start "$(kdate -d "+40 days" "+%Y-%m-%d 13:00")" \
	--place "Psykiatrisk Center Testby, afsnit P3" --place-in-clear "Rådhuset, lokale 3" | jq -r .id)
kipctl meeting move "$M2" --start "$(kdate -d "+41 days" "+%Y-%m-%d 13:00")" >/dev/null
kipctl meeting cancel "$M2" >/dev/null
outbox_drained "$PLAN" 600 && pass "the outbox drains" || fail "the outbox drains"

PRIVATE="borger@borger.example lise.testesen@privat.example ole.testesen@privat.example
bent.bisidder@privat.example gitte.laegesen@fritmail.example"
WORK="karen.koordinator@kommune.example peter.psykiatri@region.example jonas.job@jobcenter.example"
# The details of everyone, to be found nowhere they do not belong.
details() { # details ADDRESS: the address, name and phone of its holder
	case $1 in
	borger@*) printf '%s\n' "$1" "Bjarne Testesen" "Bjarne" "+45 20 20 20 20" "290256" ;;
	lise.*) printf '%s\n' "$1" "Lise Testesen" "+45 30 30 30 30" ;;
	ole.*) printf '%s\n' "$1" "Ole Testesen" ;;
	bent.*) printf '%s\n' "$1" "Bent Bisidder" ;;
	gitte.*) printf '%s\n' "$1" "Gitte Lægesen" ;;
	*) printf '%s\n' "$1" ;;
	esac
}
forbid_others() { # the --forbid arguments for mail to $1
	local a
	for a in $PRIVATE $WORK; do
		[ "$a" = "$1" ] && continue
		details "$a" | while IFS= read -r d; do printf -- '--forbid\n%s\n' "$d"; done
	done
}

# Everything kipd sent them has arrived (Postfix delivers after kipd's
# outbox is done), so that the scan below reads all of it.
sent_to() { sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE state = 'sent' AND lower(recipient) = '$1'"; }
for a in $PRIVATE; do
	mail_wait_count "$a" "$(sent_to "$a")" 30 || true
	check_eq "every message sent to $a arrived" "$(sent_to "$a")" "$(count "$a")"
done

# Every private mailbox got mail of every kind, and none of it says anything.
n_all=0 hits_all=0
for a in $PRIVATE; do
	files=$(mail_files "$a")
	[ -n "$files" ] || { fail "$a received mail"; continue; }
	mapfile -t args < <(forbid_others "$a")
	# shellcheck disable=SC2086 # one word per file
	out=$(python3 "$ROOT/tests/clearscan.py" --vocab "${args[@]}" $files)
	summary=$(tail -1 <<<"$out")
	n=$(awk '{ print $2 }' <<<"$summary")
	h=$(awk '{ print $6 }' <<<"$summary")
	n_all=$((n_all + n)) hits_all=$((hits_all + h))
	check_eq "nothing in clear to $a reveals the service or anyone else ($n messages)" "0" "$h"
	[ "$h" = 0 ] || echo "$out" | head -20 | sed 's/^/    # /'
done
echo "# private mailboxes: $n_all messages scanned in clear, $hits_all hits"
for a in $WORK; do mail_wait_count "$a" "$(sent_to "$a")" 30 || true; done

kinds() { # kinds ADDRESS: the outer subjects it received
	local f
	for f in $(mail_files "$1"); do python3 "$ROOT/tests/mailpart.py" "$f" header Subject; done | sort
}
subjects=$(kinds lise.testesen@privat.example)
for s in "Besked fra Testkommune – ref. KIP-$PLAN" "Invitation til møde – ref. KIP-$PLAN" \
	"Påmindelse: møde – ref. KIP-$PLAN" "Aflyst: møde – ref. KIP-$PLAN"; do
	grep -qxF "$s" <<<"$subjects" && pass "Lise received \"$s\"" ||
		fail "Lise received \"$s\"" "$subjects"
done
check_eq "the citizen's plan arrives encrypted under the neutral subject" "1" \
	"$(for f in $(mail_files borger@borger.example); do
		python3 "$ROOT/tests/mailpart.py" "$f" header Subject | grep -qxF "Besked fra Testkommune – ref. KIP-$PLAN" &&
			python3 "$ROOT/tests/mailpart.py" "$f" header Content-Type | grep -q "enveloped-data" &&
			decrypt "$f" "$PKI/borger_at_borger.example.pem" "$PKI/borger_at_borger.example.key" |
			grep -q agorafobi && echo yes
	done | sort -u | grep -c yes)"
f=$(newest lise.testesen@privat.example "Invitation til møde" multipart/signed)
openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" -out "$TDIR/inv-l.eml" >/dev/null 2>&1
cal=$(python3 "$ROOT/tests/mailpart.py" "$TDIR/inv-l.eml" part text/calendar | tr -d '\r' | sed ':a;N;$!ba;s/\n //g')
grep -q "^SUMMARY:Møde (ref. KIP-$PLAN)$" <<<"$cal" && grep -q '^ORGANIZER;CN="Testkommune":' <<<"$cal" &&
	pass "a private invitation's title and organiser are neutral" ||
	fail "a private invitation's title and organiser are neutral" "$cal"
check_eq "and it names Lise alone as attendee" "1" "$(grep -c '^ATTENDEE' <<<"$cal")"
from=$(python3 "$ROOT/tests/mailpart.py" "$f" header From)
check_eq "a private mailbox sees the sender's private name" "Testkommune <kip@kommune.example>" "$from"

# Every message in clear to a professional is free of the private
# participants' details; the professionals keep the informative words.
n_all=0 hits_all=0
mapfile -t args < <(for a in $PRIVATE; do
	[ "$a" = gitte.laegesen@fritmail.example ] && continue
	details "$a" | while IFS= read -r d; do printf -- '--forbid\n%s\n' "$d"; done
done)
for a in $WORK; do
	# shellcheck disable=SC2046 # one word per file
	out=$(python3 "$ROOT/tests/clearscan.py" "${args[@]}" $(mail_files "$a"))
	summary=$(tail -1 <<<"$out")
	n_all=$((n_all + $(awk '{ print $2 }' <<<"$summary"))) hits_all=$((hits_all + $(awk '{ print $6 }' <<<"$summary")))
	check_eq "nothing in clear to $a names the citizen or a relative" "0" "$(awk '{ print $6 }' <<<"$summary")"
done
echo "# professionals: $n_all messages scanned for the private participants' details, $hits_all hits"
subjects=$(kinds peter.psykiatri@region.example)
grep -qxF "Invitation: koordinationsmøde – ref KIP-$PLAN" <<<"$subjects" &&
	grep -qxF "Koordinerende indsatsplan – ref KIP-$PLAN" <<<"$subjects" &&
	pass "professionals keep the informative subjects" ||
	fail "professionals keep the informative subjects" "$subjects"
f=$(newest peter.psykiatri@region.example "Invitation: koordinationsmøde" multipart/signed)
check_eq "professionals see the service's name as the sender, one mailbox" \
	'"Testkommune, Socialpsykiatri" <kip@kommune.example>' \
	"$(python3 "$ROOT/tests/mailpart.py" "$f" header From)"
openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" -out "$TDIR/inv-p.eml" >/dev/null 2>&1
cal=$(python3 "$ROOT/tests/mailpart.py" "$TDIR/inv-p.eml" part text/calendar | tr -d '\r' | sed ':a;N;$!ba;s/\n //g')
grep -q "^SUMMARY:Koordinationsmøde (ref. KIP-$PLAN)$" <<<"$cal" &&
	grep -q '^ORGANIZER;CN="Testkommune, Socialpsykiatri":' <<<"$cal" &&
	pass "a professional's invitation keeps its title and organiser" ||
	fail "a professional's invitation keeps its title and organiser" "$cal"
locs=$(for g in $(find "$MAILDIRS" -path '*/new/*' -type f); do
	openssl cms -verify -noverify -in "$g" 2>/dev/null |
		python3 "$ROOT/tests/mailpart.py" - part text/calendar 2>/dev/null | tr -d '\r' | grep -a '^LOCATION' || true
done)
grep -q "afsnit P3" <<<"$locs" && fail "the place that names the service is in no calendar object" "$locs" ||
	pass "the place that names the service is in no calendar object"
grep -qF 'LOCATION:Rådhuset\, lokale 3' <<<"$locs" && pass "the place given for the calendar is shown" ||
	fail "the place given for the calendar is shown" "$locs"

# The texts are kipd.conf's to replace; a bad one is refused.
kip_stop
mail_conf "$POSTFIX_URL" 'private = { name = "Testkommune"; subject = "Post fra {org} ({ref})"; };'
kip_start
kipctl plan distribute "$PLAN" --version 1 >/dev/null
outbox_drained "$PLAN" 600 || true
check_eq "a configured private subject is used" "Post fra Testkommune (KIP-$PLAN)" \
	"$(python3 "$ROOT/tests/mailpart.py" "$(ls -t $(mail_files lise.testesen@privat.example) | head -1)" header Subject)"
kip_stop
printf 'private = { subject = "Hej {navn}"; };\n' >"$TDIR/bad1.conf"
printf 'private = { subject = "Besked fra {org}"; };\n' >"$TDIR/bad2.conf"
printf 'private = { name = ""; };\n' >"$TDIR/bad3.conf"
chmod 600 "$TDIR"/bad*.conf
check_err "an unknown value in a text is refused" "private.subject.*unknown value" \
	"$KIPD" --check-config -c "$TDIR/bad1.conf"
check_err "{org} without private.name is refused" "private.subject names .org., but private.name is unset" \
	"$KIPD" --check-config -c "$TDIR/bad2.conf"
check_err "an empty private.name is refused" "private.name.*empty" \
	"$KIPD" --check-config -c "$TDIR/bad3.conf"

# In English the same.
mail_conf "$POSTFIX_URL" 'private = { name = "Testkommune"; }; plans = { default_lang = "en"; };'
kip_start
mail_settled || true
n0=$(count lise.testesen@privat.example)
kipctl plan distribute "$PLAN" --version 1 >/dev/null
outbox_drained "$PLAN" 600 || true
mail_wait_count lise.testesen@privat.example $((n0 + 1)) 20 || true
f=$(ls -t $(mail_files lise.testesen@privat.example) | head -1)
check_eq "in English the subject is neutral too" "Message from Testkommune – ref. KIP-$PLAN" \
	"$(python3 "$ROOT/tests/mailpart.py" "$f" header Subject)"
check_out "and the English notice reveals nothing" "0 hits" \
	python3 "$ROOT/tests/clearscan.py" --vocab "$f"
t_done
