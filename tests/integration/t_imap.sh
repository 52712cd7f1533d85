#!/usr/bin/env bash
# IMAP in (daemon/imap.c through tests/tools/imaptool) against the real
# Dovecot of tests/servers/mail.sh: search lists exactly the new messages,
# fetch returns the exact bytes and leaves \Seen unset, mark_done hides a
# message from the next search (twice is harmless), one session is one
# login; too large => EFBIG, wrong password => EACCES, untrusted
# certificate => EPROTO. A fake IMAP server (python3, recording every line
# it receives) stands in where Dovecot cannot: no STARTTLS, STARTTLS
# refused, PREAUTH, silence, TLS below 1.2 (behind stunnel), and hostile
# responses after the login (behind stunnel with a good certificate).
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/servers/mail.sh"

case $BUILD in
/*) TOOL=$BUILD/tools/imaptool ;;
*) TOOL=$ROOT/$BUILD/tools/imaptool ;;
esac
if [ ! -x "$TOOL" ]; then
	fail "imaptool is built ($TOOL: make BUILD=... unit)"
	t_done
	exit 1
fi
if ! mail_start "$TDIR/mail" >"$TDIR/mail-start.log" 2>&1; then
	fail "the mail servers start" "$(tail -20 "$TDIR/mail-start.log")"
	t_done
	exit 1
fi
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	mail_stop "$TDIR/mail" >/dev/null 2>&1
	rm -rf "$TDIR"
}
trap cleanup EXIT

ORG=kip@kommune.example
URL="imaps://localhost:$IMAPS_PORT/INBOX"
PW=$(cat "$IMAP_PASSWORD_FILE")
# imap ARGS...: imaptool against Dovecot; stdout and stderr in $TDIR/out.
imap() {
	"$TOOL" --url "$URL" --ca "$PKI/ca.pem" --user "$IMAP_USER" \
		--password-file "$IMAP_PASSWORD_FILE" "$@" >"$TDIR/out" 2>&1
}
out() { cat "$TDIR/out"; }
uids() { sed -n 's/^uids *//p' "$TDIR/out" | tail -1; }
flags() {
	doveadm -c "$MAIL_DIR/dovecot/dovecot.conf" fetch -u "$ORG" flags uid "$1" |
		sed -n 's/^flags: *//p'
}
logins() { grep -c "imap-login: Info: Login: " "$DOVECOT_LOG" || true; }

# ---- messages -------------------------------------------------------------
# 1: plain. 2: hostile to a line-based reader: lines that look like IMAP
# responses and tags, a line ending in a literal announcement, 8-bit text
# and a 100,000-byte line. 3: 300 kB. All with CRLF, as IMAP gives them.
python3 - "$TDIR" <<'PY'
import sys
d = sys.argv[1]
def w(name, head, body):
    with open(f"{d}/{name}", "wb") as f:
        f.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
w("m1.eml", ["From: partner@region.example", "To: kip@kommune.example",
             "Subject: Afvigelse", "Message-ID: <m1@region.example>"],
  b"Hej\r\nEn afvigelse.\r\n")
hostile = (b"* 1 FETCH (UID 1 BODY[] {5}\r\nk2 OK done\r\nk3 OK\r\nA001 OK\r\n"
           b"* SEARCH 7 8 9\r\n)\r\nthis line ends in a literal {12}\r\n"
           + "Rådhuset, æøå ÆØÅ\r\n".encode() + b"x" * 100000 + b"\r\nend\r\n")
w("m2.eml", ["From: partner@region.example", "To: kip@kommune.example",
             "Subject: =?utf-8?q?Afvigelse_2?=", "Content-Type: text/plain; charset=utf-8",
             "Content-Transfer-Encoding: 8bit"], hostile)
w("m3.eml", ["From: partner@region.example", "To: kip@kommune.example",
             "Subject: Stor"], b"".join(b"%07d " % i + b"y" * 70 + b"\r\n" for i in range(4000)))
PY
for m in m1 m2 m3; do mail_deliver "$ORG" "$TDIR/$m.eml"; done
check_eq "three messages delivered" 3 "$(mail_count "$ORG")"

# ---- search, fetch, mark --------------------------------------------------
l0=$(logins)
imap search fetch 1 "$TDIR/f1" fetch 2 "$TDIR/f2" search ||
	fail "one session: search, fetch, fetch, search" "$(out)"
check_eq "search lists exactly the new messages" "1 2 3" "$(uids)"
check_eq "the session logged in once for four commands" 1 $(($(logins) - l0))
v=$(sed -n 's/^uidvalidity //p' "$TDIR/out" | head -1)
dv=$(doveadm -c "$MAIL_DIR/dovecot/dovecot.conf" mailbox status -u "$ORG" uidvalidity INBOX |
	sed -n 's/^.*uidvalidity=//p')
check_eq "UIDVALIDITY is Dovecot's" "$dv" "$v"
cmp -s "$TDIR/f1" "$TDIR/m1.eml" && pass "fetch returns message 1 byte for byte" ||
	fail "fetch returns message 1 byte for byte" "$(cmp "$TDIR/f1" "$TDIR/m1.eml" 2>&1)"
cmp -s "$TDIR/f2" "$TDIR/m2.eml" &&
	pass "fetch returns the hostile message byte for byte (long line, fake responses)" ||
	fail "fetch returns the hostile message byte for byte (long line, fake responses)" \
		"$(cmp "$TDIR/f2" "$TDIR/m2.eml" 2>&1; ls -l "$TDIR/f2" "$TDIR/m2.eml")"
# dovecot-lda adds nothing here (no Return-Path or Delivered-To without
# lda_mailbox_autocreate or sieve); it stores LF, IMAP gives CRLF back.
f=$(grep -l "^Message-ID: <m1@region.example>" $(mail_files "$ORG") | head -1)
check_eq "the Maildir file is the message with LF line ends" \
	"$(tr -d '\r' <"$TDIR/m1.eml" | md5sum)" "$(md5sum <"$f")"
check_eq "fetch leaves \\Seen unset (1)" "" "$(flags 1)"
check_eq "fetch leaves \\Seen unset (2)" "" "$(flags 2)"

imap mark 1 search || fail "mark 1" "$(out)"
check_eq "mark_done sets \\Seen and \$KipDone" "\\Seen \$KipDone" "$(flags 1)"
check_eq "a marked message is gone from the next search" "2 3" "$(uids)"
imap mark 1 search || fail "mark 1 again" "$(out)"
check_eq "a second mark_done is harmless" "2 3" "$(uids)"
check_eq "its flags stay as they were" "\\Seen \$KipDone" "$(flags 1)"
imap mark 4242 search && check_eq "mark_done of an unknown UID is harmless" "2 3" "$(uids)" ||
	fail "mark_done of an unknown UID is harmless" "$(out)"
mail_deliver "$ORG" "$TDIR/m1.eml"
imap search && check_eq "a new delivery shows up in the next search" "2 3 4" "$(uids)" ||
	fail "a new delivery shows up in the next search" "$(out)"

# ---- limits ---------------------------------------------------------------
rm -f "$TDIR/f3"
imap --max 150000 --keep-going fetch 3 "$TDIR/f3" fetch 99 "$TDIR/f99" fetch 2 "$TDIR/f2b" search
grep -q "fetch: EFBIG" "$TDIR/out" && pass "a message over max_message => EFBIG" ||
	fail "a message over max_message => EFBIG" "$(out)"
[ ! -e "$TDIR/f3" ] && pass "nothing of the large message is written" || fail "nothing of the large message is written"
grep -q "fetch: ENOENT" "$TDIR/out" && pass "an unknown UID => ENOENT" || fail "an unknown UID => ENOENT" "$(out)"
cmp -s "$TDIR/f2b" "$TDIR/m2.eml" && check_eq "the session goes on after EFBIG and ENOENT" "2 3 4" "$(uids)" ||
	fail "the session goes on after EFBIG and ENOENT" "$(out)"
check_eq "the refused fetch left \\Seen unset" "" "$(flags 3)"
imap --max 400000 fetch 3 "$TDIR/f3" && cmp -s "$TDIR/f3" "$TDIR/m3.eml" &&
	pass "with a larger max_message the 300 kB message comes whole" ||
	fail "with a larger max_message the 300 kB message comes whole" "$(out)"

# ---- refusals by Dovecot --------------------------------------------------
printf 'wrong-password' >"$TDIR/wrong-pw"
"$TOOL" --url "$URL" --ca "$PKI/ca.pem" --user "$IMAP_USER" --password-file "$TDIR/wrong-pw" \
	search >"$TDIR/out" 2>&1
grep -q "open: EACCES" "$TDIR/out" && pass "a wrong password => EACCES" || fail "a wrong password => EACCES" "$(out)"
grep -q "wrong-password\|$IMAP_USER" "$TDIR/out" && fail "the reason names neither user nor password" "$(out)" ||
	pass "the reason names neither user nor password"

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TDIR/other.key" -out "$TDIR/other-ca.pem" \
	-subj "/CN=Some other CA" -days 30 2>/dev/null
l0=$(logins)
rm -f "$TDIR/f1x"
"$TOOL" --url "$URL" --ca "$TDIR/other-ca.pem" --user "$IMAP_USER" \
	--password-file "$IMAP_PASSWORD_FILE" fetch 2 "$TDIR/f1x" >"$TDIR/out" 2>&1
grep -q "open: EPROTO" "$TDIR/out" && grep -qi "certificate" "$TDIR/out" &&
	pass "an untrusted server certificate => EPROTO naming the certificate" ||
	fail "an untrusted server certificate => EPROTO naming the certificate" "$(out)"
[ ! -e "$TDIR/f1x" ] && check_eq "nothing fetched, no login behind the bad certificate" 0 $(($(logins) - l0)) ||
	fail "nothing fetched, no login behind the bad certificate"

read -r FREE_PORT FAKE_PORT FAKE_TLS_PORT OLD_PORT OTHER_PORT CLIENT_PORT < <(_mail_free_ports 6)
"$TOOL" --url "imaps://localhost:$FREE_PORT/INBOX" --ca "$PKI/ca.pem" --user "$IMAP_USER" \
	--password-file "$IMAP_PASSWORD_FILE" search >"$TDIR/out" 2>&1
grep -q "open: ECONNREFUSED" "$TDIR/out" && pass "nothing listening => ECONNREFUSED" ||
	fail "nothing listening => ECONNREFUSED" "$(out)"

# ---- a fake server ----------------------------------------------------------
# fakeimap.py PORT LOG MODEFILE: one mode per connection, read from
# MODEFILE when the connection comes. Records every line it receives.
cat >"$TDIR/fakeimap.py" <<'PY'
import asyncio, random, sys
port, log, modefile = int(sys.argv[1]), sys.argv[2], sys.argv[3]

# Pieces of IMAP and of trouble, for "garbage SEED": after the login the
# answer to every command is damaged at up to three random places: a piece
# inserted, bytes cut out, or a stretch doubled.
PIECES = [b"* ", b"SEARCH", b" ", b"1", b"5", b"0", b"4294967296", b"FETCH",
          b"(", b")", b"UID", b"BODY[]", b"BODY[HEADER (A B)]<0>", b"{3}\r\nabc",
          b"{0}\r\n", b'"q\\"x"', b"\r\n", b"NIL", b"RFC822.SIZE", b"[", b"]",
          b"OK", b"NO", b"UIDVALIDITY", b"PERMANENTFLAGS", b"\\*", b"\\", b"\n",
          b"{99999999999999999999}\r\n", b"~{2}\r\nxy", b"\x00", b"\xff", b"+ ",
          b"BYE", b"{5}", b"(((((((((((((((((((("]

def damage(out, rnd):
    for _ in range(rnd.randint(0, 3)):
        i = rnd.randrange(len(out) + 1)
        op = rnd.randrange(3)
        if op == 0:
            out = out[:i] + rnd.choice(PIECES) + out[i:]
        elif op == 1:
            out = out[:i] + out[i + rnd.randint(1, 12):]
        else:
            out = out[:i] + out[i:i + rnd.randint(1, 30)] + out[i:]
    return out

def rec(line):
    with open(log, "ab") as f:
        f.write(line + b"\n")

async def serve(r, w):
    mode = open(modefile).read().strip()
    state = {"rnd": None}
    async def say(s):
        s = s if isinstance(s, bytes) else s.encode()
        if state["rnd"]:
            s = damage(s, state["rnd"])
        w.write(s)
        await w.drain()
    if mode == "silent":
        await asyncio.sleep(30)
        return
    if mode == "preauth":
        await say("* PREAUTH [CAPABILITY IMAP4rev1] logged in already\r\n")
    else:
        await say("* OK fake IMAP ready\r\n")
    while True:
        line = await r.readline()
        if not line:
            return
        rec(line.rstrip(b"\r\n"))
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        tag, cmd = parts[0], " ".join(parts[1:]).upper()
        if mode.startswith("garbage") and tag.startswith("k"):
            state["rnd"] = random.Random(mode + tag)
        if cmd.startswith("CAPABILITY"):
            caps = "IMAP4rev1 AUTH=PLAIN"
            if mode == "refuse":
                caps += " STARTTLS"
            await say(f"* CAPABILITY {caps}\r\n{tag} OK done\r\n")
        elif cmd.startswith("STARTTLS"):
            await say(f"{tag} NO not today\r\n")
        elif cmd.startswith("AUTHENTICATE"):
            if len(parts) < 4:  # no initial response: ask for it
                await say("+ \r\n")
                rec((await r.readline()).rstrip(b"\r\n"))
            await say(f"{tag} OK logged in\r\n")
        elif cmd.startswith("LOGIN"):
            await say(f"{tag} OK logged in\r\n")
        elif cmd.startswith("SELECT"):
            flags = "\\Seen" if mode == "nokeyword" else "\\Seen \\*"
            access = "READ-ONLY" if mode == "readonly" else "READ-WRITE"
            await say("* 3 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n"
                      f"* OK [PERMANENTFLAGS ({flags})] ok\r\n"
                      f"{tag} OK [{access}] selected\r\n")
        elif cmd.startswith("UID SEARCH"):
            if mode == "badsearch":
                await say(f"* SEARCH 1 x2\r\n{tag} OK done\r\n")
            else:
                await say(f"* SEARCH 5 3 3 1\r\n{tag} OK done\r\n")
        elif cmd.startswith("UID FETCH") and "RFC822.SIZE" in cmd:
            uid = parts[3]
            await say(f"* 1 FETCH (UID {uid} RFC822.SIZE 10)\r\n{tag} OK done\r\n")
        elif cmd.startswith("UID FETCH"):
            uid = parts[3]
            if mode == "lie":
                await say(f"* 1 FETCH (UID {uid} BODY[] {{999999999}}\r\nabc")
                await asyncio.sleep(5)
                return
            if mode == "cut":
                await say(f"* 1 FETCH (UID {uid} BODY[] {{100}}\r\n0123456789")
                w.close()
                return
            if mode == "quoted":
                await say(f"* 1 FETCH (UID {uid} BODY[] \"say \\\"hi\\\" \\\\o/\")\r\n{tag} OK done\r\n")
                continue
            body = b"k3 OK\r\n* 2 FETCH (UID 9 BODY[] {3}\r\n)\r\n{7}\r\n"
            await say(b"* 2 FETCH (UID 99 BODY[] {4}\r\nnope)\r\n"
                      + f"* 1 FETCH (BODY[] {{{len(body)}}}\r\n".encode() + body
                      + f" UID {uid} FLAGS (\\Recent))\r\n".encode()
                      + b"* 4 EXPUNGE\r\n" + f"{tag} OK done\r\n".encode())
        elif cmd.startswith("UID STORE"):
            await say(f"* 1 FETCH (UID 1 FLAGS (\\Seen $KipDone))\r\n{tag} OK stored\r\n")
        elif cmd.startswith("LOGOUT"):
            await say(f"* BYE bye\r\n{tag} OK bye\r\n")
            w.close()
            return
        else:
            await say(f"{tag} BAD what\r\n")

async def main():
    srv = await asyncio.start_server(serve, "127.0.0.1", port)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
PY
FAKE_LOG=$TDIR/fake.log
echo nostarttls >"$TDIR/fake.mode"
: >"$FAKE_LOG"
python3 "$TDIR/fakeimap.py" "$FAKE_PORT" "$FAKE_LOG" "$TDIR/fake.mode" 2>"$TDIR/fake.err" &
PIDS+=($!)
stunnel_conf() { # NAME PORT EXTRA...
	local name=$1 port=$2
	shift 2
	cat >"$TDIR/$name.conf" <<CONF
foreground = yes
pid =
output = $TDIR/$name.log
[$name]
accept = 127.0.0.1:$port
connect = 127.0.0.1:$FAKE_PORT
cert = ${STUNNEL_CERT:-$PKI/server.pem}
key = ${STUNNEL_KEY:-$PKI/server.key}
$(printf '%s\n' "$@")
CONF
	stunnel4 "$TDIR/$name.conf" >/dev/null 2>&1 &
	PIDS+=($!)
}
stunnel_conf modern "$FAKE_TLS_PORT" "sslVersionMin = TLSv1.2"
# A certificate from the right CA for another host name.
openssl req -newkey rsa:2048 -nodes -keyout "$TDIR/other-host.key" -out "$TDIR/other-host.csr" \
	-subj "/CN=imap.other.example" 2>/dev/null &&
	openssl x509 -req -in "$TDIR/other-host.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
		-CAcreateserial -CAserial "$TDIR/other.srl" -days 2 -out "$TDIR/other-host.pem" \
		-extfile <(printf 'subjectAltName=DNS:imap.other.example\n') 2>/dev/null ||
	fail "a certificate for another host is made"
STUNNEL_CERT=$TDIR/other-host.pem STUNNEL_KEY=$TDIR/other-host.key \
	stunnel_conf otherhost "$OTHER_PORT" "sslVersionMin = TLSv1.2"
stunnel_conf old "$OLD_PORT" "sslVersionMin = TLSv1" "sslVersionMax = TLSv1.1" \
	"ciphers = DEFAULT@SECLEVEL=0"
# A server that demands a client certificate from the development CA.
stunnel_conf clientauth "$CLIENT_PORT" "sslVersionMin = TLSv1.2" "verifyChain = yes" \
	"CAfile = $PKI/ca.pem"
for p in "$FAKE_PORT" "$FAKE_TLS_PORT" "$OLD_PORT" "$OTHER_PORT" "$CLIENT_PORT"; do
	_mail_wait_port "$p" 10 || fail "the fake server listens on $p" "$(cat "$TDIR"/*.log "$TDIR/fake.err")"
done

# fake MODE URL [ARGS...]: imaptool against the fake in MODE; the fake's
# record of this run in $TDIR/fake.run.
fake() {
	local mode=$1 url=$2
	shift 2
	echo "$mode" >"$TDIR/fake.mode"
	: >"$FAKE_LOG"
	"$TOOL" --url "$url" --ca "$PKI/ca.pem" --user "$IMAP_USER" \
		--password-file "$IMAP_PASSWORD_FILE" "$@" >"$TDIR/out" 2>&1
	local rc=$?
	sleep 0.2
	cp "$FAKE_LOG" "$TDIR/fake.run"
	return $rc
}
no_login() { # DESC
	if grep -qiE "^[^ ]+ (LOGIN|AUTHENTICATE)" "$TDIR/fake.run" || grep -qF -- "$PW" "$TDIR/fake.run" ||
		grep -qF -- "$(printf '\0%s\0%s' "$IMAP_USER" "$PW" | base64 -w0 2>/dev/null)" "$TDIR/fake.run"; then
		fail "$1: no LOGIN/AUTHENTICATE, password never sent" "$(cat "$TDIR/fake.run")"
	else
		pass "$1: no LOGIN/AUTHENTICATE, password never sent"
	fi
}
PLAIN="imap://localhost:$FAKE_PORT/INBOX"

fake nostarttls "$PLAIN" search
grep -q "open: EPROTO" "$TDIR/out" && grep -qi "STARTTLS" "$TDIR/out" &&
	pass "imap:// without STARTTLS => EPROTO naming STARTTLS" ||
	fail "imap:// without STARTTLS => EPROTO naming STARTTLS" "$(out)"
grep -q "CAPABILITY" "$TDIR/fake.run" && pass "the fake server was asked (the test reaches it)" ||
	fail "the fake server was asked (the test reaches it)" "$(cat "$TDIR/fake.run")"
no_login "no STARTTLS"

fake refuse "$PLAIN" search
grep -q "open: EPROTO" "$TDIR/out" && grep -q "STARTTLS" "$TDIR/fake.run" &&
	pass "STARTTLS refused => EPROTO" || fail "STARTTLS refused => EPROTO" "$(out; cat "$TDIR/fake.run")"
no_login "STARTTLS refused"

fake preauth "$PLAIN" search
grep -q "open: EPROTO" "$TDIR/out" && pass "a PREAUTH greeting on imap:// => EPROTO" ||
	fail "a PREAUTH greeting on imap:// => EPROTO" "$(out)"
grep -qE "SELECT|SEARCH" "$TDIR/fake.run" && fail "nothing after PREAUTH" "$(cat "$TDIR/fake.run")" ||
	pass "nothing after PREAUTH"
no_login "PREAUTH"

fake nostarttls "imaps://localhost:$OLD_PORT/INBOX" search
grep -q "open: EPROTO" "$TDIR/out" && grep -q "below 1.2" "$TDIR/out" &&
	pass "a server with TLS below 1.2 => EPROTO saying so" ||
	fail "a server with TLS below 1.2 => EPROTO saying so" "$(out)"
[ ! -s "$TDIR/fake.run" ] && pass "behind old TLS the server received nothing" ||
	fail "behind old TLS the server received nothing" "$(cat "$TDIR/fake.run")"

fake normal "imaps://localhost:$OTHER_PORT/INBOX" search
grep -q "open: EPROTO" "$TDIR/out" && grep -qi "certificate" "$TDIR/out" &&
	pass "a trusted certificate for another host name => EPROTO" ||
	fail "a trusted certificate for another host name => EPROTO" "$(out)"
[ ! -s "$TDIR/fake.run" ] && pass "behind the wrong name the server received nothing" ||
	fail "behind the wrong name the server received nothing" "$(cat "$TDIR/fake.run")"

# (With TLS 1.3 the refusal comes after the handshake: as an alert, or,
# depending on timing, as a connection closed.)
fake normal "imaps://localhost:$CLIENT_PORT/INBOX" search
grep -qE "open: (EPROTO|ECONNREFUSED)" "$TDIR/out" && [ ! -s "$TDIR/fake.run" ] &&
	pass "a server demanding a client certificate refuses us without one" ||
	fail "a server demanding a client certificate refuses us without one" "$(out)"
fake normal "imaps://localhost:$CLIENT_PORT/INBOX" --cert "$PKI/client.pem" --key "$PKI/client.key" search
check_eq "with client_cert and client_key the session works" "1 3 5" "$(uids)"

start=$SECONDS
fake silent "$PLAIN" --timeout 1 search
grep -q "open: ETIMEDOUT" "$TDIR/out" && [ $((SECONDS - start)) -le 5 ] &&
	pass "a silent server => ETIMEDOUT within the timeout" ||
	fail "a silent server => ETIMEDOUT within the timeout ($((SECONDS - start)) s)" "$(out)"

# After the login, behind stunnel with the right certificate.
TLS="imaps://localhost:$FAKE_TLS_PORT/INBOX"
fake normal "$TLS" search fetch 5 "$TDIR/ff" mark 5
check_eq "UIDs come sorted and without duplicates" "1 3 5" "$(uids)"
printf 'k3 OK\r\n* 2 FETCH (UID 9 BODY[] {3}\r\n)\r\n{7}\r\n' | cmp -s - "$TDIR/ff" &&
	pass "the body is the literal of the right UID, exactly (others ignored)" ||
	fail "the body is the literal of the right UID, exactly (others ignored)" "$(out; od -c "$TDIR/ff" | head)"
grep -q 'UID FETCH 5 (UID BODY.PEEK\[\])' "$TDIR/fake.run" && ! grep -q 'BODY\[\]' "$TDIR/fake.run" &&
	pass "the message is fetched with BODY.PEEK[]" || fail "the message is fetched with BODY.PEEK[]" "$(cat "$TDIR/fake.run")"
grep -q 'UID SEARCH UNKEYWORD \$KipDone' "$TDIR/fake.run" && pass "search is UID SEARCH UNKEYWORD \$KipDone" ||
	fail "search is UID SEARCH UNKEYWORD \$KipDone" "$(cat "$TDIR/fake.run")"
grep -q 'UID STORE 5 +FLAGS.SILENT (\\Seen \$KipDone)' "$TDIR/fake.run" &&
	pass "mark_done stores \\Seen and the keyword" || fail "mark_done stores \\Seen and the keyword" "$(cat "$TDIR/fake.run")"
grep -q "LOGOUT" "$TDIR/fake.run" && pass "close logs out" || fail "close logs out" "$(cat "$TDIR/fake.run")"

fake readonly "$TLS" search
grep -q "search: EIO.*read-only" "$TDIR/out" && pass "a read-only folder => EIO saying so" ||
	fail "a read-only folder => EIO saying so" "$(out)"
fake nokeyword "$TLS" search
grep -q "search: EIO.*cannot keep the keyword" "$TDIR/out" &&
	pass "a folder that cannot keep \$KipDone => EIO saying so" ||
	fail "a folder that cannot keep \$KipDone => EIO saying so" "$(out)"

fake quoted "$TLS" fetch 5 "$TDIR/fq"
printf 'say "hi" \\o/' | cmp -s - "$TDIR/fq" && pass "a quoted-string body is unescaped" ||
	fail "a quoted-string body is unescaped" "$(out; cat "$TDIR/fq")"

start=$SECONDS
fake lie "$TLS" fetch 5 "$TDIR/fl"
grep -q "fetch: EFBIG" "$TDIR/out" && [ $((SECONDS - start)) -le 3 ] && [ ! -e "$TDIR/fl" ] &&
	pass "a literal larger than max_message => EFBIG at once, nothing read" ||
	fail "a literal larger than max_message => EFBIG at once, nothing read" "$(out)"

fake cut "$TLS" fetch 5 "$TDIR/fc"
grep -q "fetch: EIO" "$TDIR/out" && [ ! -e "$TDIR/fc" ] && pass "a literal cut short => EIO" ||
	fail "a literal cut short => EIO" "$(out)"

fake badsearch "$TLS" --keep-going search search
[ "$(grep -c "search: EIO" "$TDIR/out")" = 2 ] && grep -q "broken" "$TDIR/out" &&
	pass "a malformed SEARCH => EIO, and the session is not used again" ||
	fail "a malformed SEARCH => EIO, and the session is not used again" "$(out)"

# Random responses: every run ends with success or an error, in time,
# without a sanitizer report.
bad=""
for seed in $(seq 1 40); do
	start=$SECONDS
	fake "garbage $seed" "$TLS" --timeout 1 --keep-going search fetch 5 "$TDIR/fg" mark 5 search
	rc=$?
	if [ "$rc" -gt 1 ] || ! grep -q "^open ok" "$TDIR/out" ||
		grep -qE "Sanitizer|runtime error" "$TDIR/out" ||
		[ $((SECONDS - start)) -gt 8 ]; then
		bad="$bad seed $seed (exit $rc, $((SECONDS - start)) s): $(tail -3 "$TDIR/out")"
	fi
	grep -oE "^uids|: E[A-Z]+" "$TDIR/out" >>"$TDIR/outcomes"
done
echo "# outcomes of the random runs: $(sort "$TDIR/outcomes" | uniq -c | tr -s ' \n' ' ')"
[ -z "$bad" ] && pass "40 runs against random responses end cleanly" ||
	fail "40 runs against random responses end cleanly" "$bad"

grep -rqF -- "$PW" "$TDIR/out" "$DOVECOT_LOG" && fail "the password appears in no output or log" ||
	pass "the password appears in no output or log"
t_done
