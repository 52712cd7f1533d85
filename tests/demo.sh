#!/usr/bin/env bash
# make demo: one realistic coordinated action plan, from consent to the
# rendered plan and the audit trail, against a real kipd on a temporary
# configuration and database. Every person here is fictional; the CPR
# number has a date of birth in 2056, so it cannot belong to anyone.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIPD=$ROOT/$BUILD/kipd
KIPCTL=$ROOT/$BUILD/kipctl
DEMO=$(mktemp -d /tmp/kip-demo.XXXXXX)
chmod 0755 "$DEMO"
export KIP_SOCKET=$DEMO/kipd.sock
KIPD_PID=""
trap '[ -n "$KIPD_PID" ] && kill "$KIPD_PID" 2>/dev/null && wait "$KIPD_PID"; true' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
run() { printf '   $ kipctl %s\n' "$*"; "$KIPCTL" "$@" | sed 's/^/     /'; }
# Karen, the coordinator, is the OS user "daemon" here (as root we can act
# as her); otherwise everything runs as the invoking user, an admin.
if [ "$(id -u)" -eq 0 ]; then
	getent group kipdemo >/dev/null || groupadd -r kipdemo
	COORD_USER=daemon
	karen() {
		printf '   karen$ kipctl %s\n' "$*"
		setpriv --reuid="$(id -u daemon)" --regid="$(id -g daemon)" \
			--groups="$(getent group kipdemo | cut -d: -f3)" "$KIPCTL" "$@" | sed 's/^/     /'
	}
	karen_q() { setpriv --reuid="$(id -u daemon)" --regid="$(id -g daemon)" \
		--groups="$(getent group kipdemo | cut -d: -f3)" "$KIPCTL" "$@"; }
	GROUP_LINE='group = "kipdemo";'
else
	COORD_USER=$(id -un)
	karen() { run "$@"; }
	karen_q() { "$KIPCTL" "$@"; }
	GROUP_LINE=""
fi
# The newest message in ADDRESS's Maildir whose decoded Subject starts
# with PREFIX ("" if none).
newest_subject() {
	local f
	for f in $(ls -t $(find "$MAILDIRS/$1" -type f -path '*/new/*') 2>/dev/null); do
		python3 "$ROOT/tests/mailpart.py" "$f" header Subject | grep -q "^$2" &&
			{ echo "$f"; return 0; }
	done
	echo ""
}
# Waits (up to 10 s) until plan 1 has nothing queued or being sent.
outbox_settled() {
	for _ in $(seq 1 100); do
		"$KIPCTL" --json plan status 1 | jq -e '[.messages[] | select(.state == "queued" or .state == "sending")] | length == 0' >/dev/null && return 0
		sleep 0.1
	done
}
# Waits (up to 10 s) until the intake has finished its Nth pass.
intake_passed() {
	for _ in $(seq 1 100); do
		karen_q --json intake status | jq -e --argjson n "$1" '.passes >= $n and .running == false' >/dev/null && return 0
		sleep 0.1
	done
}
# What Karen reads in FILE: decrypted with her key, the signature checked,
# the first N lines of the text.
karen_reads() {
	openssl cms -decrypt -in "$1" -recip "$PKI/karen.koordinator_at_kommune.example.pem" \
		-inkey "$PKI/karen.koordinator_at_kommune.example.key" |
		openssl cms -verify -CAfile "$PKI/ca.pem" 2>/dev/null |
		python3 "$ROOT/tests/mailpart.py" - text | sed -n "1,${2}p" | sed 's/^/     | /'
}
# Waits up to 10 s for Karen's newest mail whose subject starts with
# PREFIX, then says INTRO with its outer subject and shows her first N lines.
karen_mail() {
	local f="" _
	for _ in $(seq 1 50); do
		f=$(newest_subject karen.koordinator@kommune.example "$1")
		[ -n "$f" ] && break
		sleep 0.2
	done
	if [ -z "$f" ]; then
		say "(no mail \"$1\" reached Karen within 10 s: see $DEMO/kipd.log)"
		return 0
	fi
	say "$2, encrypted (outer subject: $(python3 "$ROOT/tests/mailpart.py" "$f" header Subject)):"
	karen_reads "$f" "$3"
}
# The From and Subject of FILE as its recipient's mail program shows them.
show_clear() {
	local h
	for h in From Subject; do
		say "| $h: $(python3 "$ROOT/tests/mailpart.py" "$1" header "$h")"
	done
}
refused() {
	printf '   karen$ kipctl %s\n' "$*"
	if out=$(karen_q "$@" 2>&1); then
		echo "     UNEXPECTED: accepted"; exit 1
	fi
	printf '     refused: %s\n' "${out#kipctl: }"
}

step "Setting up: real local mail servers, a development PKI, a private configuration"
# shellcheck source=servers/mail.sh
. "$ROOT/tests/servers/mail.sh"
MAIL_UP=""
if [ "$(id -u)" -eq 0 ] && mail_start "$DEMO/mail" >"$DEMO/mail-start.log" 2>&1; then
	MAIL_UP=1
	trap '[ -n "$KIPD_PID" ] && kill "$KIPD_PID" 2>/dev/null && wait "$KIPD_PID"; mail_stop "$DEMO/mail" >/dev/null 2>&1; ldap_stop "$DEMO/ldap" >/dev/null 2>&1; true' EXIT
	say "Postfix on 127.0.0.1:$SMTP_PORT (STARTTLS and AUTH required, delivers to Maildirs in $MAILDIRS),"
	say "Dovecot for its authentication; the development CA and certificates in $PKI"
	# shellcheck source=servers/ldap.sh
	. "$ROOT/tests/servers/ldap.sh"
	if ldap_start "$DEMO/ldap" >"$DEMO/ldap-start.log" 2>&1; then
		say "OpenLDAP slapd on 127.0.0.1:$LDAPS_PORT (ldaps), the region's certificate directory"
		DIRECTORY_CONF="directory = { servers = ( { uri = \"ldaps://127.0.0.1:$LDAPS_PORT\";
  base = \"$LDAP_BASE\"; ca_file = \"$LDAP_CA\"; bind_dn = \"$LDAP_BIND_DN\";
  password_file = \"$LDAP_PASSWORD_FILE\"; } ); };"
	else
		say "(slapd did not start, see $DEMO/ldap-start.log: certificates from files only)"
		DIRECTORY_CONF=""
	fi
	MAIL_CONF="smtp = { url = \"smtp://localhost:$SMTP_PORT\"; username = \"$SMTP_USER\";
  password_file = \"$SMTP_PASSWORD_FILE\"; ca_file = \"$PKI/ca.pem\"; };
smime = { cert = \"$PKI/org.pem\"; key = \"$PKI/org.key\"; ca_bundle = \"$PKI/ca.pem\"; crl = \"$PKI/crl.pem\"; };
intake = { url = \"imaps://localhost:$IMAPS_PORT/INBOX\"; username = \"$IMAP_USER\";
  password_file = \"$IMAP_PASSWORD_FILE\"; ca_file = \"$PKI/ca.pem\"; interval_s = 3600; };
$DIRECTORY_CONF"
else
	say "(no mail servers: run as root for the mail part; plans stay queued)"
	PKI=$DEMO/pki
	"$ROOT/certs/make-dev-certs.sh" "$PKI" >/dev/null
	MAIL_CONF=""
fi
cat >"$DEMO/kipd.conf" <<CONF
store = { path = "$DEMO/kip.db"; };
control = { socket = "$DEMO/kipd.sock"; $GROUP_LINE };
log = { level = "info"; syslog = false; };
organisation = { name = "Testkommune, Socialpsykiatri"; mailbox = "kip@kommune.example"; phone = "+45 70 10 20 30"; };
# What the citizen's and the relatives' mailboxes see as the sender.
private = { name = "Testkommune"; };
users = (
  { user = "$(id -un)"; role = "admin"; }$( [ "$COORD_USER" != "$(id -un)" ] && printf ',\n  { user = "%s"; role = "coordinator"; contact = "karen.koordinator@kommune.example"; }' "$COORD_USER")
);
$MAIL_CONF
CONF
chmod 0600 "$DEMO/kipd.conf"
"$KIPD" --check-config -c "$DEMO/kipd.conf" | sed 's/^/   /'
start=$(date +%s%N)
# kipd's clock can be moved forward for the reminder in step 6c
# (kipd --test-clock: an offset in seconds, for tests and this demo).
echo 0 >"$DEMO/clock"
"$KIPD" -f -c "$DEMO/kipd.conf" --test-clock "$DEMO/clock" 2>"$DEMO/kipd.log" &
KIPD_PID=$!
until [ -S "$KIP_SOCKET" ]; do sleep 0.005; done
say "kipd is ready after $((($(date +%s%N) - start) / 1000000)) ms (pid $KIPD_PID)"

step "1. The network: professionals with their S/MIME certificates"
run contact add --kind professional --name "Karen Koordinator" --title Koordinator \
	--organisation "Testkommune, Socialpsykiatri" --email karen.koordinator@kommune.example \
	--phone "+45 70 10 20 31" --cert "$PKI/karen.koordinator_at_kommune.example.pem"
if [ -n "${DIRECTORY_CONF:-}" ]; then
	say "Peter's certificate is not on file: kip finds it in the region's directory"
	say "(LDAP over TLS, searched by his address), checks it as an imported one"
	say "(chain, CRL, validity, emailProtection, his address) and keeps where it came from:"
	run contact add --kind professional --name "Peter Psykiatri" --title Overlæge \
		--organisation "Region Test, Distriktspsykiatrien" --email peter.psykiatri@region.example \
		--phone "+45 70 10 20 32"
	"$KIPCTL" --json contact show 2 | jq -r '"cert_source: \(.cert_source)", "cert_not_after: \(.cert_not_after)"' |
		sed 's/^/     | /'
	say "Asked by hand, the directory also says what it refused, and why:"
	"$KIPCTL" --json cert lookup expired@region.example |
		jq -r '.candidates[] | "\(.fingerprint[0:23])…  chosen: \(.chosen)  \(.reason // "")"' | sed 's/^/     | /'
else
	run contact add --kind professional --name "Peter Psykiatri" --title Overlæge \
		--organisation "Region Test, Distriktspsykiatrien" --email peter.psykiatri@region.example \
		--phone "+45 70 10 20 32" --cert "$PKI/peter.psykiatri_at_region.example.pem"
fi
run contact add --kind professional --name "Jonas Job" --title "Koordinerende sagsbehandler" \
	--organisation "Testkommune, Jobcenter" --email jonas.job@jobcenter.example \
	--phone "+45 70 10 20 33" --cert "$PKI/jonas.job_at_jobcenter.example.pem"
say "A certificate that has expired is refused:"
printf '   $ kipctl contact add ... --cert expired.pem\n'
"$KIPCTL" contact add --kind professional --name "Udløbet Certifikat" \
	--email expired@region.example --cert "$PKI/expired.pem" 2>&1 | sed 's/^kipctl: /     refused: /' || true

step "2. The citizen (fictional; CPR with a date of birth in 2056)"
karen citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" \
	--email borger@borger.example --cert "$PKI/borger_at_borger.example.pem"
say "No plan may be made before the citizen consents:"
refused plan create 1 --basis psych-patient,substance-need
karen consent give 1 --scope plan --date "$(date +%F)" --document "Samtykkeerklæring J.nr. 2026-4711"
karen consent give 1 --scope relatives --date "$(date +%F)" --document "Samtykkeerklæring J.nr. 2026-4711"
karen contact add --kind relative --name "Lise Testesen" --citizen 1 --phone "+45 30 30 30 30" \
	--email lise.testesen@privat.example

step "3. The plan, its members, and the coordination meeting"
say "At least one of the first two basis flags is required:"
refused plan create 1 --basis psych-need
karen plan create 1 --basis psych-patient,substance-need
karen plan member add 1 2
karen plan member add 1 3
karen plan member add 1 4
MEETING_DAY=$(date -d yesterday +%F)
karen meeting schedule 1 --start "$MEETING_DAY 10:00" --duration 90 \
	--place "Rådhuset, mødelokale 2" --phone "+45 70 10 20 30"
karen meeting attendance 1 --present 1,3,4 --apologies 2 --citizen present
karen meeting held 1

step "4. The plan document (Bilag 2 of the national guideline) becomes version 1"
FOLLOW=$(date -d "$MEETING_DAY + 5 months" +%F)
sed "s/^follow_up: .*/follow_up: $FOLLOW/" "$ROOT/tests/fixtures/bilag2.yaml" >"$DEMO/plan.yaml"
sed "s/^follow_up: .*/follow_up: $(date -d "$MEETING_DAY + 7 months" +%F)/" \
	"$ROOT/tests/fixtures/bilag2.yaml" >"$DEMO/late.yaml"
say "A follow-up more than six months after the meeting is refused:"
chmod 0644 "$DEMO/late.yaml" "$DEMO/plan.yaml" # Karen's editor wrote them
refused plan version add 1 --file "$DEMO/late.yaml"
karen plan version add 1 --file "$DEMO/plan.yaml"
say "The citizen approves it at the meeting; it is ready for distribution to"
say "every member, Peter too, who sent apologies:"
karen plan approve 1 --version 1 --how meeting --date "$MEETING_DAY"

if [ -n "$MAIL_UP" ]; then
	step "5. Distribution: every member, absent Peter too, and the citizen"
	outbox_settled
	run plan status 1
	# Postfix has accepted them all; its delivery to the Maildirs follows.
	for a in borger@borger.example karen.koordinator@kommune.example peter.psykiatri@region.example \
		jonas.job@jobcenter.example lise.testesen@privat.example; do
		mail_wait_count "$a" 1 20 || true
	done
	say "The mailboxes of the local Postfix:"
	for d in "$MAILDIRS"/*; do
		printf '     %-36s %s message(s)\n' "$(basename "$d")" "$(find "$d" -type f -path '*/new/*' | wc -l)"
	done
	f=$(find "$MAILDIRS/peter.psykiatri@region.example" -type f -path '*/new/*' -print -quit)
	say "What the server holds for Peter: only a neutral subject and ciphertext:"
	grep -E '^(From|To|Subject|Content-Type):' "$f" | sed 's/^/     | /'
	say "Peter decrypts it with his key and checks the organisation's signature (openssl cms):"
	openssl cms -decrypt -in "$f" -recip "$PKI/peter.psykiatri_at_region.example.pem" \
		-inkey "$PKI/peter.psykiatri_at_region.example.key" |
		openssl cms -verify -CAfile "$PKI/ca.pem" 2>"$DEMO/verify.txt" |
		python3 "$ROOT/tests/mailpart.py" - text | sed -n '1,14p' | sed 's/^/     | /'
	say "$(cat "$DEMO/verify.txt")"
	say "Lise (relative, no certificate) got only a neutral notice, as it arrives in"
	say "her private mailbox: it names neither the plan nor the service (docs/PRIVACY.md):"
	f=$(find "$MAILDIRS/lise.testesen@privat.example" -type f -path '*/new/*' -print -quit)
	show_clear "$f"
	openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" 2>/dev/null |
		python3 "$ROOT/tests/mailpart.py" - text | sed 's/^/     | /'
fi

step "5b. The rendered plan, as every member receives it (first 45 lines)"
# (Through a file: head would leave kipctl writing into a closed pipe.)
"$KIPCTL" plan render 1 >"$DEMO/plan.txt"
head -45 "$DEMO/plan.txt" | sed 's/^/   | /'
"$KIPCTL" plan render 1 --format html >"$DEMO/plan.html"
say "(HTML version: $DEMO/plan.html, $(wc -c <"$DEMO/plan.html") bytes, no remote content)"
run plan render 1 --format pdf --output "$DEMO/plan.pdf"
say "The same plan as PDF (cairo and Pango; what every member's mail carries beside"
say "the text and HTML): $DEMO/plan.pdf, $(pdfinfo "$DEMO/plan.pdf" | sed -n 's/^Pages: *//p') pages,"
say "$(pdfinfo "$DEMO/plan.pdf" | sed -n 's/^Page size: *//p'), fonts embedded: $(pdffonts "$DEMO/plan.pdf" | awk 'NR > 2 { print $1 " (emb " $(NF-4) ")" }' | sort -u | tr '\n' ' ')"
say "Its text, as a PDF reader selects it (pdftotext, first lines):"
pdftotext -layout -l 1 "$DEMO/plan.pdf" - | grep -v '^ *$' | head -8 | sed 's/^/   | /'

step "6. An update: the job centre's timeline changes; version 2 and the diff"
sed 's/Koordinerende sagsbehandler deltager i netværksmøde/Koordinerende sagsbehandler holder første samtale inden 14 dage og deltager i netværksmøde/' \
	"$DEMO/plan.yaml" >"$DEMO/plan2.yaml"
chmod 0644 "$DEMO/plan2.yaml"
karen plan version add 1 --file "$DEMO/plan2.yaml"
karen plan diff 1 --from 1 --to 2
karen plan approve 1 --version 2 --how phone
karen meeting schedule 1 --start "$FOLLOW 10:00" --place "Rådhuset, mødelokale 2" \
	--video "https://video.kommune.example/rum-7" \
	--reason "Opfølgning på planen; status på behandlingen i DP og jobplanen." \
	--situation "Bjarne kommer stabilt i DP og er startet i alkoholambulatoriet."
karen plan show 1
if [ -n "$MAIL_UP" ]; then
	# Two plan versions, the invitation and its encrypted details.
	mail_wait_count jonas.job@jobcenter.example 4 10 || true
	f=$(grep -l "multipart/signed" $(find "$MAILDIRS/jonas.job@jobcenter.example" -type f -path '*/new/*') | tail -1)
	say "Jonas's calendar receives a signed invitation (the calendar part, verified):"
	openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" 2>/dev/null |
		python3 "$ROOT/tests/mailpart.py" - part text/calendar |
		grep -E '^(METHOD|UID|SEQUENCE|DTSTART|DTEND|SUMMARY|LOCATION|ORGANIZER|ATTENDEE)' |
		cut -c1-90 | sed 's/^/     | /'
	say "…and the details (reason, the citizen's situation) only encrypted."
fi

if [ -n "$MAIL_UP" ]; then
	step "6b. A deviation: Peter answers by signed mail that an agreed action failed"
	printf 'Mål: 1\nIndsats: 1\n\nBjarne er udeblevet fra de to seneste samtaler i DP og har ikke\nhentet sin medicin. Vi har ikke kunnet få kontakt pr. telefon.\n\nPeter Psykiatri, Distriktspsykiatrien\n' >"$DEMO/afvigelse.txt"
	python3 "$ROOT/tests/mkmail.py" signed peter.psykiatri@region.example \
		"Re: Koordinerende indsatsplan – ref KIP-1" "$DEMO/afvigelse.txt" \
		"$PKI/peter.psykiatri_at_region.example.pem" "$PKI/peter.psykiatri_at_region.example.key" \
		--encrypt-to "$PKI/org.pem" >"$DEMO/afvigelse.eml"
	printf 'Mål: 1\n\nDette er ikke sendt af Peter.\n' >"$DEMO/falsk.txt"
	python3 "$ROOT/tests/mkmail.py" unsigned peter.psykiatri@region.example \
		"Re: Koordinerende indsatsplan – ref KIP-1" "$DEMO/falsk.txt" >"$DEMO/falsk.eml"
	mail_deliver kip@kommune.example "$DEMO/afvigelse.eml"
	mail_deliver kip@kommune.example "$DEMO/falsk.eml"
	say "Peter's mail (signed with his certificate, encrypted to kip's) and an"
	say "unsigned one claiming to be from him are in the function mailbox (Dovecot)."
	karen intake run
	intake_passed 1
	karen intake status
	karen deviation list
	karen deviation show 1
	say "The unsigned one is quarantined with its reason; nothing of it is kept:"
	karen intake quarantine
	outbox_settled
	mail_wait_count karen.koordinator@kommune.example 4 10 || true
	f=$(newest_subject karen.koordinator@kommune.example Afvigelse)
	say "Karen is told at once, encrypted (outer subject: $(python3 "$ROOT/tests/mailpart.py" "$f" header Subject)):"
	karen_reads "$f" 16
	say "Jonas (member, goal 1 has no route: every professional) gets it forwarded, encrypted."
	karen deviation ack 1

	step "6c. A reminder: the network meets in ten days; kip reminds everyone the day before"
	# kipd's local times are in its timezone, Europe/Copenhagen (the
	# default), whatever this host's zone is.
	SOON="$(TZ=Europe/Copenhagen date -d '+10 days' +%F) 10:00"
	n0=$(mail_count jonas.job@jobcenter.example)
	karen meeting schedule 1 --start "$SOON" --duration 60 --place "Jobcentret, lokale 3"
	mail_wait_count jonas.job@jobcenter.example $((n0 + 2)) 10 || true
	due=$(( $(TZ=Europe/Copenhagen date -d "$SOON" +%s) - 86400 + 60 ))
	echo $((due - $(date +%s))) >"$DEMO/clock"
	say "Nine days and some hours pass (kipd's clock moves to $(TZ=Europe/Copenhagen date -d "@$due" '+%F %H:%M'));"
	say "the scheduler runs on its own timer; an admin may ask for a pass at once:"
	run scheduler run
	echo 0 >"$DEMO/clock"
	mail_wait_count jonas.job@jobcenter.example $((n0 + 3)) 10 || true
	f=$(newest_subject jonas.job@jobcenter.example Påmindelse)
	if [ -n "$f" ]; then
		say "Jonas's reminder (signed, neutral: no name, no health data):"
		say "| Subject: $(python3 "$ROOT/tests/mailpart.py" "$f" header Subject)"
		openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" 2>/dev/null |
			python3 "$ROOT/tests/mailpart.py" - text | sed 's/^/     | /'
	else
		say "(no reminder arrived within 10 s: see kipctl plan status 1)"
	fi

	step "6d. What Lise, the relative, receives in clear"
	LISE=lise.testesen@privat.example
	f=$(newest_subject "$LISE" Invitation)
	if [ -n "$f" ]; then
		say "Her invitation travels signed, not encrypted (calendars take no encrypted"
		say "invitations), so it says nothing of the service, names her alone, and"
		say "leaves the place to the encrypted details she would get with a certificate:"
		show_clear "$f"
		openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" 2>/dev/null |
			python3 "$ROOT/tests/mailpart.py" - part text/calendar | tr -d '\r' |
			sed ':a;N;$!ba;s/\n //g' | grep -E '^(SUMMARY|ORGANIZER|LOCATION|ATTENDEE|DTSTART;)' |
			sed 's/^/     | /'
	fi
	f=$(newest_subject "$LISE" Påmindelse)
	[ -z "$f" ] || { say "Her reminder:"; show_clear "$f"; }
	say "Karen sees the informative words in her work mailbox:"
	show_clear "$(newest_subject karen.koordinator@kommune.example Invitation)"
	say "Everything Lise received, read as her mail provider could (headers, every"
	say "part decoded, the calendar, the signature's certificates), searched for the"
	say "words that disclose the service and for anyone else's address or name:"
	python3 "$ROOT/tests/clearscan.py" --vocab --forbid borger@borger.example \
		--forbid "Bjarne Testesen" --forbid peter.psykiatri@region.example \
		$(find "$MAILDIRS/$LISE" -type f -path '*/new/*') | sed 's/^/     /'
fi

if [ -n "$MAIL_UP" ]; then
	step "6e. Delivered, not just sent: a copy that bounces after the relay took it"
	U_ADDR=ulla.ukendt@bounce.example
	"$ROOT/certs/make-dev-certs.sh" "$PKI" "$U_ADDR" >/dev/null
	say "The alcohol clinic joins the network. Ulla's address is one her own mail"
	say "server no longer knows: the local Postfix stands in for it (bounce.example),"
	say "accepting the message with 250 and returning it afterwards, 5.1.1."
	karen contact add --kind professional --name "Ulla Ukendt" --title Misbrugsbehandler \
		--organisation "Testkommune, Alkoholambulatoriet" --email "$U_ADDR" \
		--phone "+45 70 10 20 34" --cert "$PKI/ulla.ukendt_at_bounce.example.pem"
	U=$(karen_q --json contact list | jq -r --arg a "$U_ADDR" '.contacts[] | select(.email == $a) | .id')
	KIP_BOX=kip@kommune.example
	k0=$(mail_count "$KIP_BOX")
	say "A member who joins is sent the version in force at once, as the others got it"
	say "(version 2, sent_version below); version 3 follows when it is approved:"
	karen plan member add 1 "$U"
	outbox_settled
	# That copy bounces too: its report waits in the function mailbox.
	mail_wait_count "$KIP_BOX" $((k0 + 1)) 30 || true
	# The follow-up meeting scheduled in step 6 is now the latest meeting:
	# the next follow-up date is counted from it.
	sed -e 's/At få et forløb i et alkoholambulatorium,/At få et forløb i Alkoholambulatoriet (Ulla Ukendt),/' \
		-e "s/^follow_up: .*/follow_up: $(date -d "$FOLLOW +30 days" +%F)/" \
		"$DEMO/plan2.yaml" >"$DEMO/plan3.yaml"
	chmod 0644 "$DEMO/plan3.yaml"
	karen plan version add 1 --file "$DEMO/plan3.yaml"
	k0=$(mail_count "$KIP_BOX")
	say "Lise has no certificate. Karen chooses that she gets the plan as a PDF"
	say "protected by a passphrase, which Karen will read to her over the phone:"
	karen contact update 4 --delivery pdf
	printf '   karen$ kipctl plan approve 1 --version 3 --how phone\n'
	approve=$(karen_q --json plan approve 1 --version 3 --how phone)
	jq -r '"version:      \(.version)", "distribution: \(.distribution)", "recipients:   \(.recipients)",
		(.passphrases[] | "passphrase for \(.name): \(.passphrase)")' <<<"$approve" | sed 's/^/     /'
	PASS=$(jq -r '.passphrases[0].passphrase // empty' <<<"$approve")
	outbox_settled
	# Every copy asked for delivery reports (DSN); Postfix sends one per
	# copy delivered, and the bounce, to the function mailbox.
	n3=$("$KIPCTL" --json plan status 1 | jq '[.messages[] | select(.kind == "plan" and .version == 3 and .state == "sent")] | length')
	mail_wait_count "$KIP_BOX" $((k0 + n3)) 30 || true
	say "Postfix took all $n3 copies sent by mail (250). What came back to the function"
	say "mailbox since: $(($(mail_count "$KIP_BOX") - k0)) reports. kip's intake reads them (unsigned by nature: accepted"
	say "only as reports on a message kip sent, to the recipient it was sent to):"
	karen intake run
	intake_passed 2
	outbox_settled
	say "plan status, per version (the whole table: kipctl plan status 1):"
	"$KIPCTL" --json plan status 1 | jq -r '.versions[].line' | sed 's/^/     | /'
	say "Ulla's copy:"
	"$KIPCTL" --json plan status 1 | jq -r --arg a "$U_ADDR" '.messages[] |
		select(.kind == "plan" and .version == 3 and .recipient == $a) |
		"state \(.state), delivery \(.delivery) \(.delivery_status): \(.delivery_detail)"' | sed 's/^/     | /'
	karen_mail "Levering fejlede" "Karen is told" 14
	LISE=lise.testesen@privat.example
	f=$(grep -l "application/pdf" $(find "$MAILDIRS/$LISE" -type f -path '*/new/*') 2>/dev/null | head -1 || true)
	if [ -n "$f" ] && [ -n "$PASS" ]; then
		say "Lise's mail, signed, not encrypted: in clear only a neutral text and a file:"
		show_clear "$f"
		openssl cms -verify -CAfile "$PKI/ca.pem" -in "$f" -out "$DEMO/lise.eml" 2>/dev/null
		python3 "$ROOT/tests/mailpart.py" "$DEMO/lise.eml" text | sed 's/^/     | /'
		name=$(python3 "$ROOT/tests/mailpart.py" "$DEMO/lise.eml" save application/pdf "$DEMO/lise.pdf")
		say "| attached: $name ($(qpdf --show-encryption --password="$PASS" "$DEMO/lise.pdf" | sed -n 's/^stream encryption method: //p'), R6)"
		if qpdf --decrypt "$DEMO/lise.pdf" "$DEMO/lise-nopass.pdf" 2>/dev/null; then
			say "UNEXPECTED: the PDF opened without its passphrase"; exit 1
		fi
		say "Without the passphrase it does not open (qpdf: invalid password). With the"
		say "words Karen read to her, it does (qpdf --decrypt, then pdftotext):"
		qpdf --password="$PASS" --decrypt "$DEMO/lise.pdf" "$DEMO/lise-open.pdf"
		pdftotext -layout -l 1 "$DEMO/lise-open.pdf" - | grep -v '^ *$' | head -4 | sed 's/^/     | /'
		say "What Lise received in clear, scanned as in step 6d (the passphrase included):"
		python3 "$ROOT/tests/clearscan.py" --vocab --forbid "$PASS" --forbid borger@borger.example \
			--forbid "Bjarne Testesen" "$f" | sed 's/^/     /'
	else
		say "(no encrypted PDF reached Lise: see kipctl plan status 1)"
	fi
	say "Karen phones Ulla and hands the plan over at the clinic; she records it:"
	karen plan handed 1 --version 3 --contact "$U" --how "Afleveret personligt i Alkoholambulatoriet"
	"$KIPCTL" --json plan status 1 | jq -r '.versions[0].line' | sed 's/^/     | /'

	step "6f. Karen's daily digest: what waits for her, once a day"
	say "Lise has no certificate: her copies wait to be handed over. Four days pass"
	say "(kipd's clock moves to the digest's hour, 07:00; manual copies are listed"
	say "after digest.manual_days, 3):"
	DIG_DAY=$(TZ=Europe/Copenhagen date -d '+4 days' +%F)
	due=$(TZ=Europe/Copenhagen date -d "$DIG_DAY 07:05" +%s)
	echo $((due - $(date +%s))) >"$DEMO/clock"
	c0=$(mail_count karen.koordinator@kommune.example)
	run scheduler run
	mail_wait_count karen.koordinator@kommune.example $((c0 + 1)) 10 || true
	karen_mail "Daglig oversigt" "Her digest arrives" 30
	say "Another pass the same day sends nothing more; at a terminal she asks for the counts:"
	run scheduler run
	karen digest
	echo 0 >"$DEMO/clock"
	say "The operator's view of the queue (as postqueue -p), and its counts:"
	run outbox counts
fi

step "7. The audit trail the citizen may ask for (newest first)"
"$KIPCTL" audit --citizen 1 --limit 12 | sed 's/^/   /'

step "8. What the log holds: ids only"
kill -TERM "$KIPD_PID"; wait "$KIPD_PID" || true; KIPD_PID=""
tail -5 "$DEMO/kipd.log" | sed 's/^/   /'
n=$(grep -cE "Bjarne|Testesen|290256|Prøvevej|karen\.koordinator@" "$DEMO/kipd.log" || true)
say "lines in the log with the citizen's name, CPR, address or an e-mail address: $n"
say "database: $DEMO/kip.db ($(stat -c %s "$DEMO/kip.db") bytes, mode $(stat -c %a "$DEMO/kip.db")); kept for inspection"
