# mail_lib.sh — shared set-up of the mail tests (sourced after lib.sh):
# real Postfix (STARTTLS + AUTH, Maildir delivery), Dovecot, and a recorder
# that offers no STARTTLS, all under $TDIR/mail; kipd configured for them.
. "$ROOT/tests/servers/mail.sh"
SRV=$ROOT/tests/servers

if ! mail_start "$TDIR/mail" >"$TDIR/mail-start.log" 2>&1; then
	fail "the mail servers start" "$(tail -20 "$TDIR/mail-start.log")"
	t_done
	exit 1
fi
trap 'kip_stop; mail_stop "$TDIR/mail" >/dev/null 2>&1; [ -n "${KIP_TEST_KEEP:-}" ] || rm -rf "$TDIR"' EXIT

# mail_conf URL [EXTRA]: writes a kipd configuration sending through URL.
# MAIL_RETRY_S ("FIRST MAX", default "1 2"), MAIL_TIMEOUT_S (10) and
# MAIL_CONNECTIONS (2) set the back-off, smtp.timeout_s and the
# connections.
mail_conf() {
	local retry
	read -r -a retry <<<"${MAIL_RETRY_S:-1 2}"
	KIP_EXTRA_CONF="smtp = { url = \"$1\"; username = \"$SMTP_USER\";
  password_file = \"$SMTP_PASSWORD_FILE\"; ca_file = \"$PKI/ca.pem\";
  retry_first_s = ${retry[0]}; retry_max_s = ${retry[1]};
  timeout_s = ${MAIL_TIMEOUT_S:-10}; connections = ${MAIL_CONNECTIONS:-2}; };
smime = { cert = \"$PKI/org.pem\"; key = \"$PKI/org.key\";
  ca_bundle = \"$PKI/ca.pem\"; crl = \"$PKI/crl.pem\"; };
${2:-}"
	kip_config
}
POSTFIX_URL="smtp://localhost:$SMTP_PORT"
# The same Postfix, without DSN: kipd asks it for no delivery reports.
NODSN_URL="smtp://localhost:$SMTP_NODSN_PORT"
PLAIN_URL="smtp://localhost:$SMTP_PLAIN_PORT"

# recorder_tls NAME PORT OPTION...: the recorder behind stunnel, over TLS
# on 127.0.0.1:PORT (with the stunnel OPTIONs); prints stunnel's pid.
recorder_tls() {
	local name=$1 port=$2
	shift 2
	cat >"$TDIR/$name.conf" <<CONF
foreground = yes
pid =
output = $TDIR/$name.log
[$name]
accept = 127.0.0.1:$port
connect = 127.0.0.1:$SMTP_PLAIN_PORT
cert = $PKI/server.pem
key = $PKI/server.key
$(printf '%s\n' "$@")
CONF
	stunnel4 "$TDIR/$name.conf" >/dev/null 2>&1 &
	echo $!
}

# mail_wait_hook ADDRESS: what kipd's outbox holds for ADDRESS, printed
# by mail_wait_count when mail does not arrive in time.
mail_wait_hook() {
	[ -f "$TDIR/kip.db" ] || return 0
	sqlite3 "file:$TDIR/kip.db?mode=ro" "SELECT 'outbox ' || id || ' ' || kind || ' ' ||
	  state || ' attempts ' || attempts || ' next ' || next_attempt_at || ' (real clock ' ||
	  strftime('%s', 'now') || '): ' || coalesce(reason, '') || ' ' || coalesce(last_reply, '')
	  FROM outbox WHERE recipient = '$1' COLLATE NOCASE ORDER BY id DESC LIMIT 5" 2>&1 |
		sed 's/^/mail_lib.sh:   /'
}

# The number of messages in a mailbox.
count() { mail_count "$1" 2>/dev/null || echo 0; }

# The newest message in a mailbox whose outer Subject starts with PREFIX
# (and whose Content-Type matches CTYPE, if given).
newest() {
	local f files
	files=$(mail_files "$1")
	[ -n "$files" ] || return 1
	for f in $(ls -t $files); do
		python3 "$ROOT/tests/mailpart.py" "$f" header Subject | grep -q "^$2" || continue
		[ -z "${3:-}" ] || python3 "$ROOT/tests/mailpart.py" "$f" header Content-Type |
			grep -q "$3" || continue
		echo "$f"
		return 0
	done
	return 1
}

# decrypt FILE CERT KEY: the decoded text of a message after decryption
# and verification of the organisation's signature (empty on failure).
decrypt() {
	bash "$SRV/smime-verify.sh" "$1" "$2" "$3" "$PKI/ca.pem" 2>>"$TDIR/verify.err" |
		python3 "$ROOT/tests/mailpart.py" - text
}

# run_intake: one pass of the intake (kipctl intake run), waited for;
# prints the status.
run_intake() {
	local n st
	n=$(kipctl --json intake run | jq -r .pass)
	for _ in $(seq 1 200); do
		st=$(kipctl --json intake status)
		[ "$(jq -r .passes <<<"$st")" -ge "$n" ] && [ "$(jq -r .running <<<"$st")" = false ] && break
		sleep 0.1
	done
	kipctl --json intake status
}

# Waits until kipd's outbox has no queued, sending or deferred row.
outbox_drained() {
	local plan=$1 i
	for i in $(seq 1 ${2:-300}); do
		if ! kipctl --json plan status "$plan" |
			jq -e '.messages[] | select(.state == "queued" or .state == "sending" or .state == "deferred")' >/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
