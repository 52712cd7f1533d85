#!/usr/bin/env bash
# The mail test servers themselves (tests/servers/mail.sh), driven with the
# curl command line (libcurl, as kipd): Postfix delivers only over STARTTLS
# with AUTH, refuses clear text and bare LF, Dovecot serves the function
# mailbox over IMAPS, the recorder offers no STARTTLS and shows what a
# client sent, and mail_stop leaves no process behind.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/servers/mail.sh"
SRV=$ROOT/tests/servers
MDIR=$TDIR/mail

if ! mail_deps_ok 2>/dev/null; then
	"$SRV/deps.sh" >"$TDIR/deps.log" 2>&1 || {
		fail "tests/servers/deps.sh installs the mail servers" "$(tail -20 "$TDIR/deps.log")"
		t_done
		exit 1
	}
fi

trap 'mail_stop "$MDIR" >/dev/null 2>&1; t_cleanup' EXIT
trap 'exit 1' INT TERM HUP

t0=$(date +%s%N)
if ! mail_start "$MDIR" >"$TDIR/mail-start.log" 2>&1; then
	fail "the mail servers start" "$(tail -20 "$TDIR/mail-start.log")"
	t_done
	exit 1
fi
ms=$((($(date +%s%N) - t0) / 1000000))
pass "the mail servers start (${ms} ms, with the PKI)"
for v in SMTP_PORT SMTP_NODSN_PORT SMTP_PLAIN_PORT IMAPS_PORT SMTP_USER SMTP_PASSWORD_FILE IMAP_USER \
	IMAP_PASSWORD_FILE MAILDIRS PKI; do
	[ -n "${!v:-}" ] || fail "mail_start exports $v"
done
check_eq "SMTP_USER is kipd" kipd "$SMTP_USER"
check_eq "IMAP_USER is the function mailbox" kip@kommune.example "$IMAP_USER"

# Every listening socket of the servers (TCP or UDP) is on 127.0.0.1, and
# those are the four ports.
mine=$(mail_pids "$MDIR" | paste -sd'|' -)
socks=$(ss -Hlntup 2>/dev/null | grep -E "pid=($mine)," | awk '{print $5}' | sort -u)
check_eq "the servers listen on 127.0.0.1 only, on the four ports" \
	"$(printf '127.0.0.1:%s\n' "$SMTP_PORT" "$SMTP_NODSN_PORT" "$SMTP_PLAIN_PORT" "$IMAPS_PORT" | sort)" "$socks"

SMTP_PW=$(cat "$SMTP_PASSWORD_FILE")
IMAP_PW=$(cat "$IMAP_PASSWORD_FILE")
CA=$PKI/ca.pem
SMTP_URL=smtp://127.0.0.1:$SMTP_PORT/client.kip.test # (the EHLO name)
PLAIN_URL=smtp://127.0.0.1:$SMTP_PLAIN_PORT/client.kip.test
IMAPS_URL=imaps://127.0.0.1:$IMAPS_PORT

# msg FILE TO SUBJECT BODY: a small message with CRLF line ends.
msg() {
	printf 'From: kip <kipd@kommune.example>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%s@kip.test>\r\n\r\n%s\r\n' \
		"$2" "$3" "$RANDOM$RANDOM" "$4" >"$1"
}
# smtp URL RCPT FILE [curl options]: sends FILE with curl.
smtp() {
	local url=$1 rcpt=$2 file=$3
	shift 3
	curl -sS -v --max-time 15 --url "$url" --mail-from kipd@kommune.example \
		--mail-rcpt "$rcpt" --upload-file "$file" "$@"
}

# --- (1) STARTTLS + AUTH: delivered to the recipient's Maildir -------------
R1=peter.psykiatri@region.example
msg "$TDIR/m1.eml" "$R1" "t_servers one" "Body of the first test message"
check "curl sends over STARTTLS with AUTH" \
	smtp "$SMTP_URL" "$R1" "$TDIR/m1.eml" --ssl-reqd --cacert "$CA" --user "kipd:$SMTP_PW"
check "the message is in the recipient's Maildir" mail_wait_count "$R1" 1 10
f=$(mail_files "$R1" | head -1)
check_out "with its text" "^Body of the first test message" cat "$f"
check_out "received over TLS 1.2 or newer" "using TLSv1\.[23] with cipher" cat "$f"
check_out "Postfix logged the SASL login of kipd" "sasl_method=(PLAIN|LOGIN), sasl_username=kipd" \
	cat "$POSTFIX_LOG"
check_eq "one Maildir per address: only ${R1}'s has it" "1 0" \
	"$(mail_count "$R1") $(mail_count karen.koordinator@kommune.example)"

R1B=karen.koordinator@kommune.example
msg "$TDIR/m1b.eml" "$R1B" "t_servers two" "second"
check "AUTH LOGIN works too" smtp "$SMTP_URL" "$R1B" "$TDIR/m1b.eml" --ssl-reqd \
	--cacert "$CA" --user "kipd:$SMTP_PW" --login-options AUTH=LOGIN
check "and is delivered" mail_wait_count "$R1B" 1 10
check_err "STARTTLS without AUTH may not relay" "Relay access denied|554" \
	smtp "$SMTP_URL" "$R1" "$TDIR/m1.eml" --ssl-reqd --cacert "$CA"
check_err "a wrong password is refused" "535|[Aa]uthentication failed" \
	smtp "$SMTP_URL" "$R1" "$TDIR/m1.eml" --ssl-reqd --cacert "$CA" --user "kipd:wrong"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj /CN=other-ca -keyout "$TDIR/other-ca.key" -out "$TDIR/other-ca.pem" 2>/dev/null
check_err "the server certificate is checked (another CA fails)" "\(60\)|certificate problem" \
	smtp "$SMTP_URL" "$R1" "$TDIR/m1.eml" --ssl-reqd --cacert "$TDIR/other-ca.pem" \
	--user "kipd:$SMTP_PW"

# --- (2) no TLS: refused ---------------------------------------------------
check_err "without STARTTLS Postfix refuses the mail" "530.*STARTTLS" \
	smtp "$SMTP_URL" "$R1" "$TDIR/m1.eml"
out=$(curl -sS -v --max-time 10 --url "$SMTP_URL" -X EHLO 2>&1 || true)
if grep -q "STARTTLS" <<<"$out" && ! grep -q "< 250[- ]AUTH" <<<"$out"; then
	pass "before STARTTLS AUTH is not offered"
else
	fail "before STARTTLS AUTH is not offered" "$out"
fi
for v in -tls1 -tls1_1; do
	if echo Q | openssl s_client -connect "127.0.0.1:$SMTP_PORT" -starttls smtp "$v" \
		-cipher 'DEFAULT:@SECLEVEL=0' >"$TDIR/s_client.out" 2>&1; then
		fail "Postfix refuses ${v#-}" "$(tail -5 "$TDIR/s_client.out")"
	else
		pass "Postfix refuses ${v#-}"
	fi
done
check_out "Postfix offers TLS 1.2" "Protocol *: TLSv1\.2" \
	openssl s_client -connect "127.0.0.1:$SMTP_PORT" -starttls smtp -tls1_2 \
	-CAfile "$CA" -verify_return_error </dev/null

# DSN (RFC 3461): the main listener names it, the second one does not.
ehlo() { curl -sS -v --max-time 10 --url "$1" -X EHLO 2>&1 || true; }
check_out "Postfix names DSN" "< 250[- ]DSN" ehlo "$SMTP_URL"
out=$(ehlo "smtp://127.0.0.1:$SMTP_NODSN_PORT/client.kip.test")
grep -q "< 250[- ]8BITMIME" <<<"$out" && ! grep -q "< 250[- ]DSN" <<<"$out" &&
	pass "Postfix on SMTP_NODSN_PORT names no DSN" ||
	fail "Postfix on SMTP_NODSN_PORT names no DSN" "$out"

# --- (3) --ssl-reqd to the recorder: curl gives up after EHLO ---------------
: >"$RECORDER_LOG"
check_err "curl --ssl-reqd fails on the server without STARTTLS" "\(64\)|STARTTLS not supported" \
	smtp "$PLAIN_URL" "$R1" "$TDIR/m1.eml" --ssl-reqd --cacert "$CA" --user "kipd:$SMTP_PW"
sleep 0.2
check_out "the recorder saw EHLO" "^EHLO " cat "$RECORDER_LOG"
other=$(grep -vE '^(EHLO .*|QUIT)$' "$RECORDER_LOG" || true)
check_eq "and nothing but EHLO and QUIT" "" "$other"
check_eq "and received no message" "" "$(ls -A "$RECORDER_MAIL")"

# The recorder does record what a client sends in clear (so that the
# above means something), and its modes answer as documented.
: >"$RECORDER_LOG"
msg "$TDIR/m3.eml" "$R1" "t_servers plain" "Text sent in clear"
check "the recorder accepts a message in clear" smtp "$PLAIN_URL" "$R1" "$TDIR/m3.eml"
check_out "and records its commands" "^RCPT TO:<$R1>" cat "$RECORDER_LOG"
check_out "and its text" "^Text sent in clear$" cat "$RECORDER_LOG"
check_out "and stores it" "Text sent in clear" cat "$RECORDER_MAIL"/*.eml
mail_recorder_mode tempfail
check_err "recorder tempfail mode: 4xx after EHLO" "451" smtp "$PLAIN_URL" "$R1" "$TDIR/m3.eml"
mail_recorder_mode permfail
check_err "recorder permfail mode: 5xx after EHLO" "554" smtp "$PLAIN_URL" "$R1" "$TDIR/m3.eml"
mail_recorder_mode dsn-refused
check_out "recorder dsn-refused mode: its EHLO names DSN" "< 250[- ]DSN" ehlo "$PLAIN_URL"
check_out "and it refuses the parameters with 555" "^555 " /usr/bin/python3 -c '
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo()
print(*s.docmd("MAIL FROM:<kipd@kommune.example> RET=HDRS ENVID=x"))' "$SMTP_PLAIN_PORT"
check "and takes a message without them" smtp "$PLAIN_URL" "$R1" "$TDIR/m3.eml"
mail_recorder_mode stall
start=$SECONDS
check_err "recorder stall mode: no greeting, the client times out" "\(28\)|[Tt]imeout|timed out" \
	curl -sS --max-time 2 --url "$PLAIN_URL" -X NOOP
check_eq "it stalled the whole 2 s" 1 "$([ $((SECONDS - start)) -ge 2 ] && echo 1 || echo 0)"
mail_recorder_mode accept
check "recorder accept mode again" smtp "$PLAIN_URL" "$R1" "$TDIR/m3.eml"

# --- (4) bare LF ------------------------------------------------------------
if postconf -d smtpd_forbid_bare_newline >/dev/null 2>&1; then
	R4=bare.lf@region.example
	printf 'From: <kipd@kommune.example>\r\nTo: <%s>\r\nSubject: bare\r\n\r\nline one\nline two\r\n' \
		"$R4" >"$TDIR/m4.eml"
	smtp "$SMTP_URL" "$R4" "$TDIR/m4.eml" --ssl-reqd --cacert "$CA" \
		--user "kipd:$SMTP_PW" >"$TDIR/m4.out" 2>&1
	rc=$?
	# A control message to the same mailbox shows delivery works.
	msg "$TDIR/m4b.eml" "$R4" "control" "control"
	smtp "$SMTP_URL" "$R4" "$TDIR/m4b.eml" --ssl-reqd --cacert "$CA" --user "kipd:$SMTP_PW" \
		>/dev/null 2>&1
	mail_wait_count "$R4" 1 10
	sleep 0.5
	if [ "$rc" -ne 0 ] && grep -q "bare <LF>\|5[0-9][0-9]" "$TDIR/m4.out"; then
		pass "a message with a bare LF is rejected"
	else
		fail "a message with a bare LF is rejected" "$(tail -5 "$TDIR/m4.out")"
	fi
	check_eq "and only the control message is delivered" 1 "$(mail_count "$R4")"
else
	echo "# skipped: this Postfix has no smtpd_forbid_bare_newline (bare LF test)"
fi

# --- (5) IMAPS: the function mailbox ----------------------------------------
msg "$TDIR/m5.eml" "$IMAP_USER" "t_servers imap" "Into the function mailbox"
check "dovecot-lda delivers into the function mailbox" mail_deliver "$IMAP_USER" "$TDIR/m5.eml"
check_eq "it is in the Maildir" 1 "$(mail_count "$IMAP_USER")"
imap() { curl -sS --max-time 10 --cacert "$CA" --user "$IMAP_USER:$IMAP_PW" "$@"; }
check_out "IMAPS login lists the folders" 'LIST.*INBOX' imap "$IMAPS_URL/"
check_out "IMAPS: the INBOX holds the message" '\* 1 EXISTS' imap "$IMAPS_URL/INBOX" -X 'EXAMINE INBOX' -v
check_out "IMAPS: the message is fetched" "^Subject: t_servers imap" imap "$IMAPS_URL/INBOX;UID=1"
msg "$TDIR/m5b.eml" "$IMAP_USER" "t_servers imap via postfix" "Through Postfix"
smtp "$SMTP_URL" "$IMAP_USER" "$TDIR/m5b.eml" --ssl-reqd --cacert "$CA" --user "kipd:$SMTP_PW" \
	>/dev/null 2>&1
check "Postfix delivers into the function mailbox" mail_wait_count "$IMAP_USER" 2 10
check_out "and IMAP sees it" "^Subject: t_servers imap via postfix" imap "$IMAPS_URL/INBOX;UID=2"
check_err "IMAPS refuses a wrong password" "[Ll]ogin denied|\(67\)" \
	curl -sS --max-time 10 --cacert "$CA" --user "$IMAP_USER:wrong" "$IMAPS_URL/"
check_err "IMAP without TLS is not served on the IMAPS port" "\((8|28|56)\)" \
	curl -sS --max-time 1 --user "$IMAP_USER:$IMAP_PW" "imap://127.0.0.1:$IMAPS_PORT/"

# --- S/MIME through Postfix, checked by smime-verify.sh and gpgsm-verify.sh --
R7=jonas.job@jobcenter.example
K=$PKI/karen.koordinator_at_kommune.example
J=$PKI/jonas.job_at_jobcenter.example
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nSigneret og krypteret testtekst\r\n' \
	>"$TDIR/inner.txt"
openssl cms -sign -in "$TDIR/inner.txt" -signer "$K.pem" -inkey "$K.key" -out "$TDIR/signed.eml" &&
	openssl cms -encrypt -aes-256-cbc -in "$TDIR/signed.eml" -from kipd@kommune.example \
		-to "$R7" -subject "t_servers smime" -out "$TDIR/m7.lf" "$J.pem" ||
	fail "openssl makes a signed and encrypted test message"
# (openssl writes LF line ends; Postfix takes only CRLF.)
sed 's/\r*$/\r/' "$TDIR/m7.lf" >"$TDIR/m7.eml"
check "an S/MIME message goes through Postfix" smtp "$SMTP_URL" "$R7" "$TDIR/m7.eml" \
	--ssl-reqd --cacert "$CA" --user "kipd:$SMTP_PW"
check "and is delivered" mail_wait_count "$R7" 1 10
f=$(mail_files "$R7" | head -1)
check_out "smime-verify.sh decrypts and verifies it" "^Signeret og krypteret testtekst" \
	"$SRV/smime-verify.sh" "$f" "$J.pem" "$J.key" "$CA"
check_err "smime-verify.sh fails with another recipient's key" "decryption failed" \
	"$SRV/smime-verify.sh" "$f" "$K.pem" "$K.key" "$CA"
check_err "smime-verify.sh fails with another CA" "verification failed" \
	"$SRV/smime-verify.sh" "$f" "$J.pem" "$J.key" "$TDIR/other-ca.pem"
bash "$SRV/gpgsm-p12.sh" "$J.pem" "$J.key" t_servers "$TDIR/jonas.p12" "$CA" 2>"$TDIR/p12.err" ||
	fail "a PKCS#12 of Jonas's key that gpgsm imports" "$(cat "$TDIR/p12.err")"
check_out "gpgsm-verify.sh decrypts and verifies it" "^Signeret og krypteret testtekst" \
	"$SRV/gpgsm-verify.sh" "$f" "$TDIR/jonas.p12" t_servers "$CA"
check_err "gpgsm-verify.sh fails with another CA" "not good and fully trusted|verification failed" \
	"$SRV/gpgsm-verify.sh" "$f" "$TDIR/jonas.p12" t_servers "$TDIR/other-ca.pem"

# --- (6) mail_stop leaves nothing behind --------------------------------------
server_pids=$(mail_pids "$MDIR")
check_out "the servers run as processes" "[0-9]" echo "$server_pids"
t0=$(date +%s%N)
mail_stop "$MDIR"
ms=$((($(date +%s%N) - t0) / 1000000))
left=""
for p in $server_pids; do
	# (A zombie that init has yet to reap does not count.)
	_mail_alive "$p" && left+="$(ps -o pid=,args= -p "$p") "
done
check_eq "mail_stop ends every server process (${ms} ms)" "" "$left"
check_eq "no process names the test directory" "" "$(pgrep -af -- "$MDIR" || true)"
for p in "$SMTP_PORT" "$SMTP_NODSN_PORT" "$SMTP_PLAIN_PORT" "$IMAPS_PORT"; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		fail "port $p is closed after mail_stop"
	else
		pass "port $p is closed after mail_stop"
	fi
done

t_done
