#!/usr/bin/env bash
# A decision that ends a plan's messages ends them for good: withdrawn
# consent (plan, relatives), erasure and a removed member cancel every
# message they cover at once, including those handed to the SMTP workers,
# and none of them reaches a server later, across SIGTERM, across kill -9
# at several moments, and across a restart onto a working relay; a
# certificate that expires between queueing and sending turns its message
# into manual delivery; with a working relay only what a server accepted
# before the withdrawal gets out, and plan status says so.
#
# Set-up: the recorder in stall mode is the stalled relay (it accepts the
# TCP connection and never answers), the real Postfix (STARTTLS, AUTH,
# Maildirs) the working one. Deliveries are counted from the Maildirs by
# Message-ID. Every person is fictional; the CPR numbers have birth dates
# in 2051-2057 with serial digits 5xxx (the century rule puts them in the
# 2050s), so none can belong to anyone.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"

db() { sqlite3 -cmd '.timeout 5000' "$TDIR/kip.db" "$@"; }
today=$(date +%F)
# The meeting a week ago, the follow-up well within six months: no
# reminder or escalation of the scheduler's joins these messages.
MEET_DAY=$(date -d '-7 days' +%F)
sed "s/^follow_up: .*/follow_up: $(date -d '+80 days' +%F)/" "$FIXTURES/bilag2.yaml" >"$TDIR/plan.yaml"
DOMAIN=tilbagetraek.example
KADDR=karen.koordinator@kommune.example

# smtp_conf URL TIMEOUT_S: kipd sending through URL. With the stalled relay
# a long transaction timeout keeps the handed-over messages in 'sending'
# for the whole scenario; retries come after 1-2 s.
smtp_conf() {
	# shellcheck disable=SC2034 # read by kip_config
	KIP_EXTRA_CONF="smtp = { url = \"$1\"; username = \"$SMTP_USER\";
  password_file = \"$SMTP_PASSWORD_FILE\"; ca_file = \"$PKI/ca.pem\";
  retry_first_s = 1; retry_max_s = 2; timeout_s = $2; connections = 2; };
smime = { cert = \"$PKI/org.pem\"; key = \"$PKI/org.key\";
  ca_bundle = \"$PKI/ca.pem\"; crl = \"$PKI/crl.pem\"; };"
	kip_config
}
start_stalled() {
	mail_recorder_mode stall
	smtp_conf "$PLAIN_URL" 30
	kip_start
}
start_postfix() {
	mail_recorder_mode accept
	smtp_conf "$POSTFIX_URL" 10
	kip_start
}
# kill -9, as a crash: nothing of kipd's shutdown runs.
kip_kill9() {
	kill -9 "$KIPD_PID"
	wait "$KIPD_PID" 2>/dev/null
	KIPD_PID=""
}

# issue_cert NAME NOT_AFTER EMAIL...: NAME.pem/.key in $TDIR, an S/MIME
# certificate of the test CA for EMAIL... (as certs/make-dev-certs.sh
# issues them), valid from an hour ago until NOT_AFTER (YYYYMMDDHHMMSSZ).
# The key is made first (NAME.key kept if it exists).
issue_cert() {
	local name=$1 end=$2 san="" e
	shift 2
	for e in "$@"; do san+="${san:+, }email:$e"; done
	[ -f "$TDIR/$name.key" ] || openssl genpkey -algorithm RSA \
		-pkeyopt rsa_keygen_bits:2048 -out "$TDIR/$name.key" 2>/dev/null || return 1
	cat >"$TDIR/$name.ext" <<EOF
[ ext ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = emailProtection
subjectAltName         = $san
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always
EOF
	openssl req -config "$PKI/ca-db/openssl.cnf" -new -key "$TDIR/$name.key" \
		-subj "/C=DK/O=kip development (fictional)/CN=$name (test)" \
		-out "$TDIR/$name.csr" 2>"$TDIR/$name.err" &&
		(cd "$PKI" && flock ca-db/lock openssl ca -config ca-db/openssl.cnf -batch -notext \
			-extfile "$TDIR/$name.ext" -extensions ext -in "$TDIR/$name.csr" \
			-out "$TDIR/$name.pem" \
			-startdate "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)" -enddate "$end") \
			>>"$TDIR/$name.err" 2>&1
}

# --- the rows and what arrived ---------------------------------------------

# live: how many rows of the WHERE clause still wait or are being sent.
live() { db "SELECT count(*) FROM outbox WHERE ($1) AND state IN ('queued', 'sending', 'deferred')"; }
# msgids FILE WHERE: the Message-IDs of the rows of WHERE into FILE.
msgids() { db "SELECT message_id FROM outbox WHERE $2 ORDER BY id" >"$1"; }
# arrived IDS: "MESSAGE-ID EPOCH FILE" for every delivered message (any
# Maildir) whose Message-ID is in the file IDS; EPOCH is the time of
# Postfix's Received: header (when it took the message).
arrived() {
	python3 - "$MAILDIRS" "$1" <<'PY'
import email.parser, email.utils, os, sys
ids = {l.strip() for l in open(sys.argv[2]) if l.strip()}
parser = email.parser.BytesHeaderParser()
for root, dirs, files in os.walk(sys.argv[1]):
    if os.path.basename(root) not in ("new", "cur"):
        continue
    for f in sorted(files):
        path = os.path.join(root, f)
        with open(path, "rb") as fh:
            h = parser.parse(fh)
        mid = str(h.get("Message-ID", "")).strip()
        if mid not in ids:
            continue
        when = 0
        for r in h.get_all("Received", []):
            if "(Postfix)" in str(r) and ";" in str(r):
                when = int(email.utils.parsedate_to_datetime(
                    str(r).rsplit(";", 1)[1].strip()).timestamp())
                break
        print(mid, when, path)
PY
}
n_arrived() { arrived "$1" | grep -c . || true; }

# keys_of ADDRESS: the certificate and key ADDRESS decrypts with.
keys_of() {
	case $1 in
	"$KADDR") echo "$PKI/karen.koordinator_at_kommune.example.pem $PKI/karen.koordinator_at_kommune.example.key" ;;
	"z.udloeber@$DOMAIN") echo "$TDIR/short.pem $TDIR/short.key" ;;
	*) echo "$MANY $TDIR/many.key" ;;
	esac
}
# open_msg FILE: the decrypted, verified text of a delivered message
# (read from its Maildir's address); empty if it does not decrypt.
open_msg() {
	local addr cert key
	addr=$(basename "$(dirname "$(dirname "$1")")")
	read -r cert key <<<"$(keys_of "$addr")"
	decrypt "$1" "$cert" "$key"
}

# describe IDS T0 EVENT CPR: what arrived of IDS, each with its row, when
# Postfix took it relative to EVENT at T0, and what it decrypts to: the
# details of a failed "nothing arrived" check.
describe() {
	local mid when f row
	arrived "$1" | while read -r mid when f; do
		row=$(db "SELECT id || ' ' || kind || ' ' || state || ' sent_at=' || coalesce(sent_at, '-') || ' reason=' || coalesce(reason, '-') FROM outbox WHERE message_id = '$mid'")
		echo "$mid: row $row; taken by Postfix $((when - $2)) s after $3;" \
			"$(case $row in
			*" notice "*) echo "a signed notice without personal data" ;;
			*) open_msg "$f" | grep -qF -- "$4" &&
				echo "decrypts to the plan, with the citizen's CPR number $4" ||
				echo "does not decrypt to the plan" ;;
			esac)"
	done
}

# settle: after a restart onto Postfix, proves that whatever kipd would
# still send has been sent and delivered: an unrelated marker message
# (plan MPLAN sent again to its coordinator) is queued after everything
# else; then the marker has arrived, no row in the whole outbox waits or
# is being sent, and Postfix's queue is empty.
settle() {
	local before mark i
	before=$(db "SELECT coalesce(max(id), 0) FROM outbox")
	kipctl plan distribute "$MPLAN" --version 1 >/dev/null || return 1
	mark=$(db "SELECT message_id FROM outbox WHERE plan_id = $MPLAN AND id > $before AND recipient = '$KADDR'")
	[ -n "$mark" ] || return 1
	for i in $(seq 1 $((400 * KIP_TEST_SLOW))); do
		if [ "$(live "1")" = 0 ] &&
			! find "$MAIL_DIR/postfix-queue/maildrop" "$MAIL_DIR/postfix-queue/incoming" \
				"$MAIL_DIR/postfix-queue/active" "$MAIL_DIR/postfix-queue/deferred" \
				-type f 2>/dev/null | grep -q . &&
			mail_files "$KADDR" | xargs -r grep -lF -- "$mark" 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# check_settled DESC: settle as a check.
check_settled() {
	if settle; then
		pass "$1"
	else
		fail "$1" "live rows: $(live 1); postfix queue: $(find "$MAIL_DIR/postfix-queue" -path '*/active/*' -type f | wc -l) active"
	fi
}

# wait_sending WHERE N: waits until at least N rows of WHERE are 'sending'.
wait_sending() {
	local i
	for i in $(seq 1 $((300 * KIP_TEST_SLOW))); do
		[ "$(db "SELECT count(*) FROM outbox WHERE ($1) AND state = 'sending'")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# check_none_arrived DESC IDS T0 EVENT CPR: no message of IDS is in any
# Maildir (else the details, see describe).
check_none_arrived() {
	local n
	n=$(n_arrived "$2")
	if [ "$n" = 0 ]; then
		pass "$1"
	else
		fail "$1" "$n of $(grep -c . "$2") arrived:
$(describe "$2" "$3" "$4" "$5")"
	fi
}

# check_log_requeued DESC OFFSET IDS: from byte OFFSET on, kipd's log says
# of no row of IDS (outbox ids, comma-separated) that it was queued again
# or sent.
check_log_requeued() {
	local said
	said=$(tail -c +$(($2 + 1)) "$TDIR/kipd.log" |
		grep -E "outbox: message (${3//,/|}) (queued|sent)\b" || true)
	if [ -z "$said" ]; then pass "$1"; else fail "$1" "$said"; fi
}

check_recorder_nothing() {
	if [ -z "$(ls -A "$RECORDER_MAIL" 2>/dev/null)" ] &&
		! grep -qiE '^(MAIL FROM|RCPT TO|DATA)' "$RECORDER_LOG"; then
		pass "$1"
	else
		fail "$1" "$(ls "$RECORDER_MAIL"; grep -iE '^(MAIL FROM|RCPT TO|DATA)' "$RECORDER_LOG" | head)"
	fi
}

# citizen NAME CPR: a citizen (no e-mail address: the citizen's own
# message is a manual one) with plan consent given today; prints the id.
citizen() {
	local id
	id=$(kipctl --json citizen add --name "$1" --cpr "$2" \
		--address "Tilbagevej 3, 9999 Testby" --phone "+45 20 30 40 50" | jq -r .id)
	kipctl consent give "$id" --scope plan --date "$today" --document "J.nr. $2" >/dev/null
	echo "$id"
}
# plan CITIZEN COORDINATOR: a plan with version 1 stored, not approved.
plan() {
	local p m
	p=$(kipctl --json plan create "$1" --basis psych-patient --coordinator "$2" | jq -r .id)
	m=$(kipctl --json meeting schedule "$p" --start "$MEET_DAY 10:00" --place "Mødelokale 2" | jq -r .id)
	kipctl plan version add "$p" --meeting "$m" --file "$TDIR/plan.yaml" >/dev/null
	echo "$p"
}
approve() {
	kipctl plan approve "$1" --version 1 --how meeting --date "$MEET_DAY" >/dev/null
}
members() {
	local p=$1 c
	shift
	for c in "$@"; do kipctl plan member add "$p" "$c" >/dev/null; done
}
# professional NAME LOCAL [CERT]: prints the new contact's id.
professional() {
	kipctl --json contact add --kind professional --name "$1" --email "$2@$DOMAIN" \
		${3:+--cert "$3"} | jq -r .id
}

# --- the network ------------------------------------------------------------

# One certificate (and key) for every address of the network, so that what
# arrives can be decrypted (the coordinator has the dev PKI's own).
ADDRS=()
for i in $(seq -w 1 100); do ADDRS+=("d$i@$DOMAIN"); done
ADDRS+=("x.fjernet@$DOMAIN" "y.fjernet@$DOMAIN" "kb.koordinator@$DOMAIN")
for i in 1 2 3 4; do ADDRS+=("r$i.paaroerende@$DOMAIN"); done
ADDRS+=("r1.bodil@$DOMAIN" "r2.bodil@$DOMAIN")
for i in 1 2 3 4 5 6; do ADDRS+=("p$i@$DOMAIN"); done
if issue_cert many "$(date -u -d '+365 days' +%Y%m%d%H%M%SZ)" "${ADDRS[@]}"; then
	pass "a certificate of the test CA for the network's ${#ADDRS[@]} addresses"
else
	fail "a certificate of the test CA for the network's ${#ADDRS[@]} addresses" "$(cat "$TDIR/many.err")"
fi
MANY=$TDIR/many.pem

start_postfix
K=$(kipctl --json contact add --kind professional --name "Karen Koordinator" \
	--email "$KADDR" --phone "+45 70 10 20 31" \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem" | jq -r .id)
X=$(professional "Xavier Fjernet" x.fjernet "$MANY")
D=()
for i in $(seq -w 1 100); do D+=("$(professional "Deltager $i" "d$i" "$MANY")"); done
check_eq "100 professionals with a certificate" "100" \
	"$(db "SELECT count(*) FROM contacts WHERE email LIKE 'd%@$DOMAIN' AND cert_pem IS NOT NULL")"
# The marker: a plan of another citizen, sent again whenever a test needs
# to know that the outbox has done what it would do.
MC=$(citizen "Mads Markør" 010157-5900)
MPLAN=$(plan "$MC" "$K")
approve "$MPLAN"
check_settled "the marker plan is sent through Postfix"
kip_stop

# --- A1: plan consent withdrawn while 100 messages wait; then SIGTERM ------

# scenario_a NAME CPR TAG: a citizen and a plan of the 100 professionals
# and the coordinator, approved while the relay stalls; sets C, P and W
# (the WHERE of the version's rows) once the first of them are handed to
# the SMTP workers (8: 2 connections, 4 handed over per connection; 2 of
# them on the wire).
scenario_a() {
	local n
	C=$(citizen "$1" "$2")
	P=$(plan "$C" "$K")
	members "$P" "${D[@]}"
	approve "$P"
	W="plan_id = $P AND version = 1"
	wait_sending "$W" 2
	n=$(db "SELECT count(*) FROM outbox WHERE $W AND state = 'sending'")
	[ "$n" -ge 2 ] && pass "$3: $n of the plan's messages are being sent to the stalled relay" ||
		fail "$3: the plan's messages are being sent to the stalled relay" \
			"$(db "SELECT state, count(*) FROM outbox WHERE $W GROUP BY state")"
	check_eq "$3: the other $((101 - n)) wait in the queue" "$((101 - n))" \
		"$(db "SELECT count(*) FROM outbox WHERE $W AND state = 'queued'")"
}

# withdraw: withdraws C's plan consent now; sets T_W (the reply's time)
# and STATUS (plan P's status read right after the reply).
withdraw() {
	kipctl consent withdraw "$C" --scope plan --date "$today" --document "Brev fra borgeren" >/dev/null
	T_W=$(date +%s)
	STATUS=$(kipctl --json plan status "$P" --version 1)
}
# check_all_cancelled TAG LIVE_IDS: every row of LIVE_IDS (the ids that
# were queued or sending before) is 'cancelled' with a reason in STATUS.
check_all_cancelled() {
	local ids=$2 got
	got=$(jq -r --argjson ids "[$ids]" '[.messages[] | select(.id as $i | $ids | index($i)) |
		select(.state == "cancelled" and (.reason // "") != "")] | length' <<<"$STATUS")
	check_eq "$1: right after the reply, all $(jq length <<<"[$ids]") of them are cancelled, with a reason" \
		"$(jq length <<<"[$ids]")" "$got"
	check_eq "$1: right after the reply, none is 'sending'" "0" \
		"$(jq '[.messages[] | select(.state == "sending")] | length' <<<"$STATUS")"
	check_eq "$1: right after the reply, none is queued or deferred" "0" \
		"$(jq '[.messages[] | select(.state == "queued" or .state == "deferred")] | length' <<<"$STATUS")"
}
live_ids() { db "SELECT group_concat(id) FROM outbox WHERE ($1) AND state IN ('queued', 'sending', 'deferred')"; }
check_nothing_kept() {
	check_eq "$1: nothing is kept to build them from (no sealed row, no signed plan)" "0 0" \
		"$(db "SELECT count(*) FROM outbox_sealed s JOIN outbox o USING (id) WHERE $2 AND o.state = 'cancelled'") $(db "SELECT count(*) FROM outbox_entity WHERE citizen_id = $3")"
}

T=A1
start_stalled
scenario_a "Asta Afbrudt" 110451-5101 $T
msgids "$TDIR/ids.$T" "$W AND state <> 'manual'"
LIVE=$(live_ids "$W")
off=$(stat -c %s "$TDIR/kipd.log")
withdraw
# SIGTERM at once, before the workers could drain the cancelled jobs (the
# issue saw those still in the pool put back in the queue at shutdown).
kill -TERM "$KIPD_PID"
check_all_cancelled $T "$LIVE"
wait "$KIPD_PID"
rc=$?
KIPD_PID=""
check_eq "$T: SIGTERM at once after the withdrawal: kipd exits 0" "0" "$rc"
check_log_requeued "$T: the log says of none of them that it was queued again or sent" "$off" \
	"$(db "SELECT group_concat(id) FROM outbox WHERE $W")"
check_eq "$T: after the stop no message of the plan waits or is being sent" "0" "$(live "$W")"
check_nothing_kept $T "o.plan_id = $P" "$C"
start_postfix
check_settled "$T: restarted onto Postfix, the outbox settles (marker delivered)"
check_none_arrived "$T: none of the plan's messages arrived after the restart onto Postfix" \
	"$TDIR/ids.$T" "$T_W" "the withdrawal" "110451-5101"
kip_stop

# --- A2: kill -9 right after the withdrawal's reply -------------------------
T=A2
start_stalled
scenario_a "Bent Brat" 110451-5102 $T
msgids "$TDIR/ids.$T" "$W AND state <> 'manual'"
LIVE=$(live_ids "$W")
withdraw
kip_kill9
check_all_cancelled $T "$LIVE"
check_eq "$T: after kill -9 right after the reply no message of the plan waits or is being sent" \
	"0" "$(live "$W")"
check_nothing_kept $T "o.plan_id = $P" "$C"
start_postfix
check_settled "$T: restarted onto Postfix, the outbox settles (marker delivered)"
check_none_arrived "$T: none of the plan's messages arrived after the restart onto Postfix" \
	"$TDIR/ids.$T" "$T_W" "the withdrawal" "110451-5102"
kip_stop

# --- A3: kill -9 while they are being sent, restart (still stalled),
# withdraw, kill -9 again ----------------------------------------------------
T=A3
start_stalled
scenario_a "Cecilie Crash" 110451-5103 $T
msgids "$TDIR/ids.$T" "$W AND state <> 'manual'"
kip_kill9
start_stalled
if wait_sending "$W" 2; then
	pass "$T: after kill -9 and a restart, they are being sent to the stalled relay again"
else
	fail "$T: after kill -9 and a restart, they are being sent to the stalled relay again" \
		"$(db "SELECT state, count(*) FROM outbox WHERE $W GROUP BY state")"
fi
LIVE=$(live_ids "$W")
withdraw
kip_kill9
check_all_cancelled $T "$LIVE"
check_eq "$T: after the second kill -9 no message of the plan waits or is being sent" \
	"0" "$(live "$W")"
check_nothing_kept $T "o.plan_id = $P" "$C"
start_postfix
check_settled "$T: restarted onto Postfix, the outbox settles (marker delivered)"
check_none_arrived "$T: none of the plan's messages arrived after the restart onto Postfix" \
	"$TDIR/ids.$T" "$T_W" "the withdrawal" "110451-5103"
check_recorder_nothing "A: the stalled relay received no message"

# --- F: the point of no return, with a working relay -----------------------
# Every sync of the WAL takes 150 ms (tests/preload/slowsync.c), so that a
# connection finishes (sends the final dot of) at most two messages per
# sync: the 100 take seconds, and the withdrawal comes in the middle.
T=F
C=$(citizen "Frida Forsinket" 110451-5106)
P=$(plan "$C" "$K")
members "$P" "${D[@]}"
W="plan_id = $P AND version = 1"
kip_stop
slowsync=$BUILD_DIR/preload/slowsync.so
if [ ! -f "$slowsync" ]; then
	slowsync=$TDIR/slowsync.so
	cc -std=gnu11 -D_GNU_SOURCE -O2 -fPIC -shared -o "$slowsync" \
		"$ROOT/tests/preload/slowsync.c" -ldl
fi
runtime=$(ldd "$KIPD" | awk '/lib(asan|tsan)\.so/ { print $3; exit }')
wrap_before=$KIPD_WRAP
KIPD_WRAP="env LD_PRELOAD=${runtime:+$runtime:}$slowsync KIP_SLOWSYNC_MS=150 $KIPD_WRAP"
start_postfix
approve "$P"
for _ in $(seq 1 $((1500 * KIP_TEST_SLOW))); do
	[ "$(db "SELECT count(*) FROM outbox WHERE $W AND state = 'sent'")" -ge 20 ] && break
	sleep 0.02
done
withdraw
msgids "$TDIR/ids.$T" "$W AND state <> 'manual'"
# A transfer past its final dot cannot be called back; a connection sends
# a final dot only while fewer than two replies before it lack a durable
# record (smtp.h), so at most two per connection are past it.
check_eq "$T: right after the reply, none waits in the queue" "0" \
	"$(jq '[.messages[] | select(.state == "queued" or .state == "deferred")] | length' <<<"$STATUS")"
n=$(jq '[.messages[] | select(.state == "sending")] | length' <<<"$STATUS")
[ "$n" -le 4 ] && pass "$T: right after the reply, at most the 4 past their final dot are 'sending' ($n)" ||
	fail "$T: right after the reply, at most the 4 past their final dot are 'sending' ($n)"
for _ in $(seq 1 $((200 * KIP_TEST_SLOW))); do
	[ "$(live "$W")" = 0 ] && break
	sleep 0.05
done
check_eq "$T: within seconds of the withdrawal no message of the plan waits or is being sent" \
	"0" "$(live "$W")"
check_eq "$T: every message of the plan is either sent or cancelled" "0" \
	"$(db "SELECT count(*) FROM outbox WHERE $W AND state NOT IN ('sent', 'cancelled', 'manual')")"
n_sent=$(db "SELECT count(*) FROM outbox WHERE $W AND state = 'sent'")
n_cancelled=$(db "SELECT count(*) FROM outbox WHERE $W AND state = 'cancelled'")
echo "# $T: $n_sent sent before the withdrawal, $n_cancelled cancelled by it"
[ "$n_sent" -ge 1 ] && [ "$n_cancelled" -ge 1 ] &&
	pass "$T: the withdrawal came in the middle ($n_sent sent, $n_cancelled cancelled)" ||
	fail "$T: the withdrawal came in the middle ($n_sent sent, $n_cancelled cancelled)"
late=$(db "SELECT count(*) FROM outbox WHERE $W AND state = 'sent' AND sent_at > $((T_W + 1))")
check_eq "$T: no message is recorded as sent later than the withdrawal's reply" "0" "$late"
check_settled "$T: the outbox settles (marker delivered)"
arrived "$TDIR/ids.$T" >"$TDIR/arrived.$T"
check_eq "$T: as many of the plan's messages arrived as are recorded sent" "$n_sent" \
	"$(grep -c . "$TDIR/arrived.$T" || true)"
check_eq "$T: the messages that arrived are exactly those recorded sent" \
	"$(db "SELECT message_id FROM outbox WHERE $W AND state = 'sent'" | sort)" \
	"$(cut -d' ' -f1 "$TDIR/arrived.$T" | sort)"
bad=""
while read -r mid when f; do
	open_msg "$f" | grep -q "Cpr. nr.: 110451-5106" || bad+="$mid does not decrypt to the plan; "
	[ "$when" -le $((T_W + 1)) ] || bad+="$mid received $((when - T_W)) s after the withdrawal; "
done <"$TDIR/arrived.$T"
check_eq "$T: each that arrived decrypts to the plan and was taken by Postfix before the withdrawal" "" "$bad"
kip_stop
KIPD_WRAP=$wrap_before

# --- B: relatives consent withdrawn -----------------------------------------
# Relatives first in the queue (it is ordered by contact id): their
# messages are the ones handed to the workers.
T=B
start_stalled
C=$(citizen "Birte Bisidder" 110451-5107)
kipctl consent give "$C" --scope relatives --date "$today" --document "J.nr. B-2" >/dev/null
R=()
for i in 1 2 3 4; do
	cert=()
	[ "$i" -lt 4 ] && cert=(--cert "$MANY") # the fourth has none: a notice
	R+=("$(kipctl --json contact add --kind relative --name "Pårørende $i Bisidder" --citizen "$C" \
		--email "r$i.paaroerende@$DOMAIN" "${cert[@]}" | jq -r .id)")
done
KB=$(professional "Kirsten Koordinator" kb.koordinator "$MANY")
P=$(plan "$C" "$KB")
PR=()
for i in 1 2 3 4 5 6; do PR+=("$(professional "Professionel $i" "p$i" "$MANY")"); done
members "$P" "${R[@]}" "${PR[@]}"
approve "$P"
W="plan_id = $P AND version = 1"
WR="$W AND contact_id IN ($(IFS=,; echo "${R[*]}"))"
WP="$W AND contact_id NOT IN ($(IFS=,; echo "${R[*]}"))"
msgids "$TDIR/ids.$T.rel" "$WR AND state <> 'manual'"
msgids "$TDIR/ids.$T.prof" "$WP AND state <> 'manual'"
wait_sending "$WR" 2 && pass "$T: the relatives' messages are being sent to the stalled relay" ||
	fail "$T: the relatives' messages are being sent to the stalled relay" \
		"$(db "SELECT contact_id, kind, state FROM outbox WHERE $W")"
LIVE=$(live_ids "$WR")
n_prof=$(live "$WP")
kipctl consent withdraw "$C" --scope relatives --date "$today" --document "Brev" >/dev/null
T_W=$(date +%s)
STATUS=$(kipctl --json plan status "$P" --version 1)
check_eq "$T: right after the reply, all of the relatives' messages are cancelled, with a reason" \
	"$(jq length <<<"[$LIVE]")" \
	"$(jq -r --argjson ids "[$LIVE]" '[.messages[] | select(.id as $i | $ids | index($i)) |
		select(.state == "cancelled" and (.reason // "") != "")] | length' <<<"$STATUS")"
check_eq "$T: right after the reply, no relative's message waits or is being sent" "0" \
	"$(jq '[.messages[] | select(.recipient_kind == "relative" and (.state == "queued" or .state == "sending" or .state == "deferred"))] | length' <<<"$STATUS")"
check_eq "$T: the professionals' messages still wait" "$n_prof" "$(live "$WP")"
check_eq "$T: nothing is kept to build the relatives' messages from (no sealed row)" "0" \
	"$(db "SELECT count(*) FROM outbox_sealed WHERE id IN (SELECT id FROM outbox WHERE $WR)")"
# (kill -9: SIGTERM would wait for the professionals' stalled transfers.)
kip_kill9
check_eq "$T: after kill -9 no relative's message waits or is being sent" "0" "$(live "$WR")"
start_postfix
check_settled "$T: restarted onto Postfix, the outbox settles (marker delivered)"
check_none_arrived "$T: none of the relatives' messages arrived" "$TDIR/ids.$T.rel" "$T_W" "the withdrawal" "110451-5107"
n=0
for i in 1 2 3 4; do n=$((n + $(count "r$i.paaroerende@$DOMAIN"))); done
check_eq "$T: the relatives' mailboxes are empty" "0" "$n"
arrived "$TDIR/ids.$T.prof" >"$TDIR/arrived.$T"
check_eq "$T: the professionals (and the coordinator) received theirs" \
	"$(grep -c . "$TDIR/ids.$T.prof")" "$(grep -c . "$TDIR/arrived.$T" || true)"
f=$(head -1 "$TDIR/arrived.$T" | cut -d' ' -f3)
check_out "$T: a professional's message decrypts to the plan" "Birte Bisidder" open_msg "$f"
kip_stop

# --- B2: nothing of the signed plan left in the file ------------------------
# A plan whose coordinator has no certificate (a neutral notice: nothing
# sealed for them) and whose other members are relatives: once the
# relatives' consent is withdrawn, nothing is left to send the signed plan
# for. It must be gone from the database file and from its WAL, not only
# from the tables: a line of its signature is looked for as raw bytes,
# with kipd running (the WAL is where old pages linger).
T=B2
start_stalled
C=$(citizen "Bodil Bisidder" 110451-5111)
kipctl consent give "$C" --scope relatives --date "$today" --document "J.nr. B2-2" >/dev/null
R=()
for i in 1 2; do
	R+=("$(kipctl --json contact add --kind relative --name "Pårørende $i Bisidder" --citizen "$C" \
		--email "r$i.bodil@$DOMAIN" --cert "$MANY" | jq -r .id)")
done
KB=$(professional "Kaj Koordinator" kb2.koordinator)
P=$(plan "$C" "$KB")
members "$P" "${R[@]}"
approve "$P"
W="plan_id = $P AND version = 1"
WR="$W AND contact_id IN ($(IFS=,; echo "${R[*]}"))"
# scan_raw STRING: the store's files (kip.db, -wal, -shm) holding STRING
# as raw bytes, one name a line.
scan_raw() {
	local f
	for f in "$TDIR/kip.db" "$TDIR/kip.db-wal" "$TDIR/kip.db-shm"; do
		[ -e "$f" ] && LC_ALL=C grep -a -q -F -- "$1" "$f" && echo "${f##*/}"
	done
	return 0
}
# A line of the signature (base64) of the signed entity: found nowhere else.
SIGLINE=$(db "SELECT body FROM outbox_entity WHERE citizen_id = $C" | tr -d '\r' |
	grep -E '^[A-Za-z0-9+/]{64,}$' | tail -3 | head -1)
check "$T: the signed plan is stored once for the relatives' messages" \
	test "$(db "SELECT count(*) FROM outbox_sealed WHERE id IN (SELECT id FROM outbox WHERE $WR)")" = 2 -a -n "$SIGLINE"
check "$T: a line of its signature is found in the store's files (the scan can see it)" \
	test -n "$(scan_raw "$SIGLINE")"
kipctl consent withdraw "$C" --scope relatives --date "$today" --document "Brev" >/dev/null
check_eq "$T: the relatives' sealed rows and the signed plan are deleted" "0|0" \
	"$(db "SELECT (SELECT count(*) FROM outbox_sealed WHERE id IN (SELECT id FROM outbox WHERE $WR)), (SELECT count(*) FROM outbox_entity WHERE citizen_id = $C)")"
for _ in $(seq 1 100); do
	grep -q "WAL truncated after withdrawn mail" "$TDIR/kipd.log" && break
	sleep 0.1
done
check_eq "$T: no byte of the signed plan is left in kip.db or its WAL (kipd running)" "" \
	"$(scan_raw "$SIGLINE")"
kip_kill9

# --- C: erasure --------------------------------------------------------------
T=C
start_stalled
C=$(citizen "Carl Slettet" 110451-5108)
P=$(plan "$C" "$K")
members "$P" "${D[@]:0:12}"
approve "$P"
W="plan_id = $P AND version = 1"
msgids "$TDIR/ids.$T" "$W AND state <> 'manual'"
wait_sending "$W" 2 && pass "$T: the plan's messages are being sent to the stalled relay" ||
	fail "$T: the plan's messages are being sent to the stalled relay"
ids=$(live_ids "$W")
erased0=$(grep -c 'erase: store' "$TDIR/kipd.log")
off=$(stat -c %s "$TDIR/kipd.log")
check_out "$T: the citizen is erased (--force)" '"forced": true' kipctl --json citizen erase "$C" --force
T_W=$(date +%s)
# (The store is read once kipd has rewritten it.)
for _ in $(seq 1 200); do
	[ "$(grep -c 'erase: store' "$TDIR/kipd.log")" -gt "$erased0" ] && break
	sleep 0.05
done
check_eq "$T: right after the reply, none of the messages waits or is being sent" "0" \
	"$(live "id IN ($ids)")"
check_eq "$T: nothing is kept to build them from (no sealed row, no signed plan)" "0 0" \
	"$(db "SELECT count(*) FROM outbox_sealed WHERE id IN ($ids)") $(db "SELECT count(*) FROM outbox_entity WHERE citizen_id = $C")"
kip_stop
check_log_requeued "$T: the log says of none of them that it was queued again or sent" "$off" "$ids"
check_eq "$T: after SIGTERM none of them waits or is being sent" "0" "$(live "id IN ($ids)")"
start_postfix
check_settled "$T: restarted onto Postfix, the outbox settles (marker delivered)"
check_none_arrived "$T: none of the erased citizen's messages arrived" "$TDIR/ids.$T" "$T_W" "the erasure" "110451-5108"
kip_stop

# --- D: members removed -----------------------------------------------------
# X (an early contact) is second in the queue, on the wire; Y, the last,
# waits in the queue.
T=D
start_stalled
C=$(citizen "Dorthe Deltager" 110451-5109)
P=$(plan "$C" "$K")
Y=$(professional "Yvonne Fjernet" y.fjernet "$MANY")
members "$P" "$X" "${D[@]:20:10}" "$Y"
approve "$P"
W="plan_id = $P AND version = 1"
WX="$W AND contact_id IN ($X, $Y)"
WO="$W AND contact_id NOT IN ($X, $Y)"
msgids "$TDIR/ids.$T.gone" "$WX AND state <> 'manual'"
msgids "$TDIR/ids.$T.kept" "$WO AND state <> 'manual'"
wait_sending "$W AND contact_id = $X" 1 && pass "$T: X's message is being sent to the stalled relay" ||
	fail "$T: X's message is being sent to the stalled relay"
check_eq "$T: Y's message waits in the queue" "queued" \
	"$(db "SELECT state FROM outbox WHERE $W AND contact_id = $Y")"
n_other=$(live "$WO")
check "$T: X is removed from the plan" kipctl plan member remove "$P" "$X"
check "$T: Y is removed from the plan" kipctl plan member remove "$P" "$Y"
T_W=$(date +%s)
STATUS=$(kipctl --json plan status "$P" --version 1)
for who in "Xavier Fjernet" "Yvonne Fjernet"; do
	check_out "$T: right after the reply, $who's message is cancelled, the reason says why" \
		"^cancelled .*([Mm]ember|[Rr]emov)" \
		jq -r --arg n "$who" '.messages[] | select(.name == $n) | "\(.state) \(.reason)"' <<<"$STATUS"
done
check_eq "$T: the other members' messages still wait" "$n_other" "$(live "$WO")"
check_eq "$T: nothing is kept to build the removed members' messages from" "0" \
	"$(db "SELECT count(*) FROM outbox_sealed WHERE id IN (SELECT id FROM outbox WHERE $WX)")"
# (kill -9: SIGTERM would wait for the other members' stalled transfers.)
kip_kill9
check_eq "$T: after kill -9 neither removed member's message waits or is being sent" "0" "$(live "$WX")"
start_postfix
check_settled "$T: restarted onto Postfix, the outbox settles (marker delivered)"
check_none_arrived "$T: the removed members received nothing of the plan" "$TDIR/ids.$T.gone" "$T_W" "the removal" "110451-5109"
check_eq "$T: the removed members' mailboxes are empty" "0 0" \
	"$(count "x.fjernet@$DOMAIN") $(count "y.fjernet@$DOMAIN")"
check_eq "$T: the other members received theirs" "$(grep -c . "$TDIR/ids.$T.kept")" \
	"$(n_arrived "$TDIR/ids.$T.kept")"
kip_stop

# --- E: a certificate that expires between queueing and sending ------------
T=E
start_stalled
C=$(citizen "Elna Udløber" 110451-5110)
P=$(plan "$C" "$K")
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TDIR/short.key" 2>/dev/null
end=$(($(date +%s) + 15))
issue_cert short "$(date -u -d "@$end" +%Y%m%d%H%M%SZ)" "z.udloeber@$DOMAIN" ||
	fail "$T: a certificate valid for 15 s" "$(cat "$TDIR/short.err")"
Z=$(kipctl --json contact add --kind professional --name "Zenia Udløber" \
	--email "z.udloeber@$DOMAIN" --cert "$TDIR/short.pem" | jq -r .id)
members "$P" "$Z" "${D[@]:40:3}"
approve "$P"
W="plan_id = $P AND version = 1"
msgids "$TDIR/ids.$T.z" "$W AND contact_id = $Z AND state <> 'manual'"
msgids "$TDIR/ids.$T.other" "$W AND contact_id <> $Z AND state <> 'manual'"
check_out "$T: Z's plan is queued for sending while the certificate is valid" \
	"^plan (queued|sending)$" db "SELECT kind || ' ' || state FROM outbox WHERE $W AND contact_id = $Z"
while [ "$(date +%s)" -le $((end + 1)) ]; do sleep 0.2; done
# (kill -9: SIGTERM would wait for the stalled transfers.)
kip_kill9
start_postfix
check_settled "$T: after the certificate expired, restarted onto Postfix, the outbox settles"
check_out "$T: Z's plan needs manual delivery, because the certificate expired" \
	"^manual .*[Ee]xpir" db "SELECT state || ' ' || coalesce(reason, '') FROM outbox WHERE $W AND contact_id = $Z AND kind = 'plan'"
check_none_arrived "$T: nothing encrypted to the expired certificate arrived" "$TDIR/ids.$T.z" "$end" "the expiry" "110451-5110"
n=$(mail_files "z.udloeber@$DOMAIN" | xargs -r grep -l 'pkcs7-mime' 2>/dev/null | grep -c . || true)
check_eq "$T: Z's mailbox holds no encrypted message" "0" "$n"
check_eq "$T: the other members received theirs" "$(grep -c . "$TDIR/ids.$T.other")" \
	"$(n_arrived "$TDIR/ids.$T.other")"
check_recorder_nothing "the stalled relay received no message in any scenario"
t_done
