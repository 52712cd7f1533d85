# tests/servers/mail.sh — real mail servers for kip's tests (sourced by bash).
#
# mail_start DIR starts, with every file under DIR (a directory the test
# owns) and listening on 127.0.0.1 only:
#   Dovecot   IMAP over implicit TLS (IMAPS_PORT) for the function mailbox
#             kip@kommune.example; for Postfix, SASL authentication and
#             LMTP delivery over unix sockets (users in DIR/dovecot/users)
#   Postfix   SMTP on SMTP_PORT: STARTTLS required (TLS >= 1.2), AUTH
#             (PLAIN, LOGIN) only after STARTTLS, relaying only for
#             authenticated clients, bare LF rejected; every recipient in
#             every domain is delivered (through Dovecot's LMTP) to the
#             Maildir MAILDIRS/ADDRESS/ (ADDRESS in lower case), except
#             in two domains of their own, which it accepts and then
#             does not deliver: bounce.example (bounced to the sender,
#             5.1.1) and delay.example (deferred, 4.2.2, retried until a
#             test stops); a bounce or delay warning to the function
#             mailbox lands in its Maildir like any mail; the same
#             on SMTP_NODSN_PORT, but without DSN (its EHLO does not name
#             it, it refuses the parameters, and it logs as
#             postfix/nodsn/smtpd). Where DSN
#             is asked for (NOTIFY=SUCCESS), a delivery counts as final
#             ("Action: delivered"), and the success report goes to the
#             sender's Maildir
#   recorder  tests/servers/recorder.py (aiosmtpd) on SMTP_PLAIN_PORT: no
#             STARTTLS, records every line it receives in RECORDER_LOG,
#             accepted messages in RECORDER_MAIL/; mode (accept, tempfail,
#             permfail, stall, dsn-refused) switched with mail_recorder_mode
# and exports:
#   SMTP_PORT SMTP_NODSN_PORT SMTP_PLAIN_PORT IMAPS_PORT
#   SMTP_USER (kipd) SMTP_PASSWORD_FILE (DIR/smtp-password)
#   IMAP_USER (kip@kommune.example) IMAP_PASSWORD_FILE (DIR/imap-password)
#   MAILDIRS (DIR/maildirs) PKI (DIR/pki, see certs/make-dev-certs.sh)
#   MAIL_DIR (DIR) RECORDER_LOG RECORDER_MAIL POSTFIX_LOG DOVECOT_LOG
# The password files hold the password without a line ending. The ports are
# free ones picked at start, unless KIP_TEST_SMTP_PORT,
# KIP_TEST_SMTP_NODSN_PORT, KIP_TEST_SMTP_PLAIN_PORT or KIP_TEST_IMAPS_PORT
# set them. An existing
# DIR/pki is used as it is (make-dev-certs.sh makes only what is missing).
#
# mail_stop DIR                stops all of them; no process is left behind
# mail_wait_count ADDR N [S]   waits (default 10 s) until ADDR's Maildir
#                              holds at least N messages (new/ and cur/);
#                              non-zero on timeout
# mail_files ADDR              lists ADDR's message files (none if no mail)
# mail_count ADDR              how many messages ADDR's Maildir holds
# mail_deliver ADDR [FILE]     delivers a message (FILE or stdin) to ADDR's
#                              Maildir with dovecot-lda
# mail_recorder_mode MODE      accept | tempfail | permfail | stall |
#                              dsn-refused, from the recorder's next
#                              connection on
# mail_postconf NAME=VALUE...  sets Postfix parameters and reloads it (a
#                              test's own, e.g. delay_warning_time=1s)
# mail_pids DIR                the pids of every server process of DIR
# mail_deps_ok                 the packages of tests/servers/deps.sh are in
#
# Needs the packages of tests/servers/deps.sh and root (Postfix and Dovecot
# run as their own users; mail is stored as the "mail" user, so DIR is
# made searchable by others).

MAIL_SERVERS_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MAIL_REPO=$(cd "$MAIL_SERVERS_LIB/../.." && pwd)
MAIL_PYTHON=/usr/bin/python3
MAIL_ORG_ADDRESS=${KIP_ORG_EMAIL:-kip@kommune.example}

_mail_err() { echo "mail.sh: $*" >&2; }

# mail_deps_ok: every program mail_start needs is installed.
mail_deps_ok() {
	local f
	for f in /usr/sbin/postfix /usr/sbin/postconf /usr/lib/postfix/sbin/master \
		/usr/sbin/dovecot /usr/lib/dovecot/imap /usr/lib/dovecot/lmtp \
		/usr/lib/dovecot/dovecot-lda "$MAIL_PYTHON"; do
		[ -x "$f" ] || {
			_mail_err "missing $f: run tests/servers/deps.sh"
			return 1
		}
	done
	for f in doveadm openssl curl gpgsm gpg-agent gpgconf ss pgrep setsid; do
		command -v "$f" >/dev/null || {
			_mail_err "missing $f: run tests/servers/deps.sh"
			return 1
		}
	done
	"$MAIL_PYTHON" -c 'import aiosmtpd' 2>/dev/null || {
		_mail_err "missing python3-aiosmtpd: run tests/servers/deps.sh"
		return 1
	}
}

# _mail_free_ports N: N distinct free TCP ports on 127.0.0.1, picked at
# random below Linux's ephemeral range (32768-60999), so that no outgoing
# connection takes one before the server binds it.
_mail_free_ports() {
	"$MAIL_PYTHON" - "$1" <<'PY'
import random, socket, sys
socks = []
while len(socks) < int(sys.argv[1]):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(20000, 32000)))
    except OSError:
        s.close()
        continue
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# _mail_wait_port PORT TIMEOUT_S: waits until 127.0.0.1:PORT accepts.
_mail_wait_port() {
	local port=$1 end=$((SECONDS + $2))
	while :; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# _mail_password FILE: a random password in FILE (kept if FILE exists).
_mail_password() {
	[ -s "$1" ] || (umask 077 && openssl rand -hex 16 | tr -d '\n' >"$1")
}

_mail_pidfile_pid() {
	local pid
	[ -r "$1" ] || return 1
	pid=$(tr -dc '0-9' <"$1")
	[ -n "$pid" ] && _mail_alive "$pid" && echo "$pid"
}

# mail_pids DIR: the processes of DIR's servers: the masters (from their
# pid files), their descendants, any process whose command line names
# DIR/dovecot/ or DIR/recorder (Dovecot's master, the recorder), and any
# process with MAIL_CONFIG=DIR/postfix (Postfix's daemons). Other processes
# naming DIR (a kipd with DIR/kipd.conf) are not among them.
mail_pids() {
	local dir=$1 p f roots=() pid
	dir=$(cd "$dir" 2>/dev/null && pwd) || return 0
	for f in "$dir/postfix-queue/pid/master.pid" "$dir/dovecot/run/master.pid" \
		"$dir/recorder.pid"; do
		p=$(_mail_pidfile_pid "$f") && roots+=("$p")
	done
	{
		if [ ${#roots[@]} -gt 0 ]; then
			ps -e -o pid=,ppid= | awk -v roots="${roots[*]}" '
				{ parent[$1] = $2 }
				END {
					n = split(roots, r, " ")
					for (i = 1; i <= n; i++) mine[r[i]] = 1
					do {
						changed = 0
						for (p in parent)
							if (!(p in mine) && (parent[p] in mine)) {
								mine[p] = 1; changed = 1
							}
					} while (changed)
					for (p in mine) print p
				}'
		fi
		local re
		re=$(printf "%s" "$dir" | sed 's/[][\.*^$|+?(){}]/\\&/g')
		pgrep -f -- "$re/dovecot/|$re/recorder" || true
		# (grep exits 2 on the environ files it may not read.)
		{ grep -lzxF "MAIL_CONFIG=$dir/postfix" /proc/[0-9]*/environ 2>/dev/null || true; } |
			sed -n 's@^/proc/\([0-9]*\)/environ$@\1@p'
	} | sort -un | while read -r pid; do
		# Not this shell, nor what it runs to find out.
		[ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
		_mail_alive "$pid" && echo "$pid"
	done || true
	return 0
}

_mail_write_dovecot_conf() {
	local dir=$1 uid=$2 gid=$3
	mkdir -p "$dir/dovecot/run" "$dir/dovecot/state"
	chmod 0755 "$dir/dovecot"
	{
		printf 'kipd:{PLAIN}%s\n' "$(cat "$dir/smtp-password")"
		printf '%s:{PLAIN}%s\n' "$MAIL_ORG_ADDRESS" "$(cat "$dir/imap-password")"
	} >"$dir/dovecot/users"
	chown root:dovecot "$dir/dovecot/users"
	chmod 0640 "$dir/dovecot/users"
	cat >"$dir/dovecot/dovecot.conf" <<EOF
# kip test instance (tests/servers/mail.sh); no system configuration.
instance_name = kip${dir//\//-}
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
log_path = $dir/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
postmaster_address = postmaster@localhost.localdomain
shutdown_clients = yes

ssl = required
ssl_cert = <$dir/pki/server.pem
ssl_key = <$dir/pki/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
# No delay after a failed login: tests try wrong passwords on purpose.
auth_failure_delay = 0

default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $uid
first_valid_gid = $gid
mail_location = maildir:$dir/maildirs/%u

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/dovecot/users
}
userdb {
  driver = static
  args = uid=$uid gid=$gid allow_all_users=yes
}

service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service auth {
  unix_listener $dir/dovecot/auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
# No auth penalty (growing delays for an IP after failed logins): the tests
# log in wrongly on purpose, then rightly, all from 127.0.0.1.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service lmtp {
  unix_listener $dir/dovecot/lmtp-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
}

_mail_write_postfix_conf() {
	local dir=$1 pf=$1/postfix
	# Configuration, queue and data each in their own directory (Postfix
	# checks the owners in each tree).
	mkdir -p "$pf" "$dir/postfix-queue" "$dir/postfix-data"
	chown root:root "$pf" "$dir/postfix-queue"
	chmod 0755 "$pf" "$dir/postfix-queue"
	chown postfix:postfix "$dir/postfix-data"
	chmod 0700 "$dir/postfix-data"
	# Every address in every domain is a mailbox, unless it has a "/" or
	# starts with "." (it names a directory). The pattern's delimiter is
	# "%": "#" would start a comment, "/" is in it.
	cat >"$pf/virtual_mailbox.regexp" <<'EOF'
%^[^/.][^/]*@[^/]+$%	OK
EOF
	# Accepted, then not delivered: bounces and delays after acceptance.
	# (Postfix's error and retry transports would refuse at RCPT: smtpd
	# knows them. A pipe that fails is known only at delivery.)
	cat >"$pf/transport.regexp" <<'EOF'
%@bounce\.example$%	kiptest-bounce:
%@delay\.example$%	kiptest-delay:
EOF
	printf '#!/bin/sh\necho "5.1.1 mailbox unavailable (test domain)"\nexit 67\n' \
		>"$pf/bounce.sh"
	printf '#!/bin/sh\necho "4.2.2 mailbox full (test domain)"\nexit 75\n' \
		>"$pf/delay.sh"
	chmod 0755 "$pf/bounce.sh" "$pf/delay.sh"
	local bare=""
	if postconf -d smtpd_forbid_bare_newline >/dev/null 2>&1; then
		bare="smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions ="
	fi
	cat >"$pf/main.cf" <<EOF
# kip test instance (tests/servers/mail.sh); no system configuration.
compatibility_level = 3.6
queue_directory = $dir/postfix-queue
data_directory = $dir/postfix-data
mail_owner = postfix
setgid_group = postdrop
myhostname = localhost.localdomain
mydomain = localdomain
myorigin = \$myhostname
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
relayhost =
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled
default_transport = error:5.7.1 outbound mail is disabled in tests
relay_transport = error:5.7.1 outbound mail is disabled in tests
notify_classes =
biff = no
smtputf8_enable = no
message_size_limit = 104857600
mailbox_size_limit = 0
virtual_mailbox_limit = 0

# Every domain is a virtual mailbox domain; its mail goes to Dovecot's LMTP,
# which stores it in the Maildir DIR/maildirs/ADDRESS/ (mail_location). (The
# virtual(8) agent cannot make one Maildir per address for any address: it
# forbids \$1 substitution in regexp tables.)
virtual_mailbox_domains = static:all
virtual_mailbox_maps = regexp:$pf/virtual_mailbox.regexp
virtual_transport = lmtp:unix:$dir/dovecot/lmtp-postfix
lmtp_destination_recipient_limit = 50
transport_maps = regexp:$pf/transport.regexp

queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
in_flow_delay = 0

smtpd_banner = \$myhostname ESMTP kip test
smtpd_tls_security_level = encrypt
smtpd_tls_cert_file = $dir/pki/server.pem
smtpd_tls_key_file = $dir/pki/server.key
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $dir/dovecot/auth-postfix
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions =
disable_vrfy_command = yes
$bare

maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
EOF
	cat >"$pf/master.cf" <<EOF
# kip test instance: smtpd on 127.0.0.1:$SMTP_PORT, and on
# 127.0.0.1:$SMTP_NODSN_PORT one whose EHLO names no DSN; no chroot.
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.1:$SMTP_PORT inet n -   n       -       -       smtpd
127.0.0.1:$SMTP_NODSN_PORT inet n - n   -       -       smtpd
  -o smtpd_discard_ehlo_keywords=dsn -o syslog_name=postfix/nodsn
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
# (virtual is unused: delivery is through lmtp to Dovecot.)
# flags=X: Dovecot's LMTP stores the mail, so a success report
# (NOTIFY=SUCCESS) says "delivered", not "relayed".
lmtp      unix  -       -       n       -       -       lmtp flags=X
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
# bounce.example and delay.example: 67 (EX_NOUSER) bounces, 75 defers
kiptest-bounce unix -   n       n       -       -       pipe
  flags=q user=nobody argv=$pf/bounce.sh
kiptest-delay unix  -   n       n       -       -       pipe
  flags=q user=nobody argv=$pf/delay.sh
EOF
	# Postfix waits (in steps of 0.3 s) until a table or main.cf is at
	# least 2 s old, lest it read a file being written: date them back.
	touch -d '-1 minute' "$pf/main.cf" "$pf/master.cf" "$pf/virtual_mailbox.regexp" \
		"$pf/transport.regexp"
}

# mail_start DIR: on failure, what it started is stopped again, and it tries
# once more (with other ports, should another test have taken one).
mail_start() {
	local rc=0 try
	for try in 1 2; do
		rc=0
		_mail_start "$@" || rc=$?
		[ "$rc" -ne 0 ] || return 0
		[ -n "${1:-}" ] && mail_stop "$1" >/dev/null 2>&1
		[ "$try" = 1 ] && _mail_err "mail_start failed, trying again"
	done
	return "$rc"
}

_mail_start() {
	local dir=${1:?usage: mail_start DIR} uid gid ports p s end
	mail_deps_ok || return 1
	[ "$(id -u)" -eq 0 ] || {
		_mail_err "mail_start needs root"
		return 1
	}
	mkdir -p "$dir" && dir=$(cd "$dir" && pwd) || return 1
	# The mail user, Postfix and Dovecot must reach their files under DIR.
	chmod a+x "$dir"
	if ! uid=$(id -u mail) || ! gid=$(id -g mail); then
		_mail_err "no user 'mail'"
		return 1
	fi
	if ! setpriv --reuid="$uid" --regid="$gid" --clear-groups test -x "$dir"; then
		_mail_err "$dir is out of reach of other users: a directory above it lacks o+x"
		return 1
	fi

	if [ ! -f "$dir/pki/server.pem" ] || [ ! -f "$dir/pki/ca.pem" ]; then
		"$MAIL_REPO/certs/make-dev-certs.sh" "$dir/pki" >"$dir/pki.log" 2>&1 || {
			_mail_err "make-dev-certs.sh failed:"
			cat "$dir/pki.log" >&2
			return 1
		}
	fi
	chmod a+x "$dir/pki"

	read -r -a ports <<<"$(_mail_free_ports 4)"
	export SMTP_PORT=${KIP_TEST_SMTP_PORT:-${ports[0]}}
	export SMTP_NODSN_PORT=${KIP_TEST_SMTP_NODSN_PORT:-${ports[3]}}
	export SMTP_PLAIN_PORT=${KIP_TEST_SMTP_PLAIN_PORT:-${ports[1]}}
	export IMAPS_PORT=${KIP_TEST_IMAPS_PORT:-${ports[2]}}
	export SMTP_USER=kipd
	export SMTP_PASSWORD_FILE=$dir/smtp-password
	export IMAP_USER=$MAIL_ORG_ADDRESS
	export IMAP_PASSWORD_FILE=$dir/imap-password
	export MAILDIRS=$dir/maildirs
	export PKI=$dir/pki
	export MAIL_DIR=$dir
	export RECORDER_LOG=$dir/recorder.log
	export RECORDER_MAIL=$dir/recorder-mail
	export POSTFIX_LOG=$dir/postfix.log
	export DOVECOT_LOG=$dir/dovecot.log

	_mail_password "$SMTP_PASSWORD_FILE"
	_mail_password "$IMAP_PASSWORD_FILE"
	mkdir -p "$MAILDIRS" "$RECORDER_MAIL"
	chown "$uid:$gid" "$MAILDIRS"
	chmod 0750 "$MAILDIRS"
	: >>"$RECORDER_LOG"
	rm -f "$dir/recorder.pid" "$dir/recorder.mode"

	# The three start side by side; Postfix needs Dovecot's sockets only
	# when mail comes.
	"$MAIL_PYTHON" "$MAIL_SERVERS_LIB/recorder.py" --port "$SMTP_PLAIN_PORT" \
		--log "$RECORDER_LOG" --maildir "$RECORDER_MAIL" \
		--mode "${KIP_TEST_RECORDER_MODE:-accept}" --mode-file "$dir/recorder.mode" \
		--pid-file "$dir/recorder.pid" </dev/null >>"$dir/recorder.out" 2>&1 &
	MAIL_RECORDER_PID=$!

	_mail_write_dovecot_conf "$dir" "$uid" "$gid"
	/usr/sbin/dovecot -c "$dir/dovecot/dovecot.conf" \
		</dev/null >>"$dir/dovecot.out" 2>&1 || {
		_mail_err "dovecot did not start:"
		cat "$dir/dovecot.out" "$DOVECOT_LOG" >&2 2>/dev/null
		return 1
	}

	_mail_write_postfix_conf "$dir"
	/usr/sbin/postfix -c "$dir/postfix" start \
		</dev/null >>"$dir/postfix.out" 2>&1 || {
		_mail_err "postfix did not start:"
		cat "$dir/postfix.out" "$POSTFIX_LOG" >&2 2>/dev/null
		return 1
	}

	for p in "$SMTP_PORT" "$SMTP_NODSN_PORT" "$IMAPS_PORT" "$SMTP_PLAIN_PORT"; do
		_mail_wait_port "$p" 10 || {
			_mail_err "nothing listens on 127.0.0.1:$p"
			tail -n 20 "$dir"/*.out "$dir"/*.log >&2 2>/dev/null
			return 1
		}
	done
	# Dovecot's sockets for Postfix: SASL and LMTP.
	end=$((SECONDS + 10))
	for s in auth-postfix lmtp-postfix; do
		while [ ! -S "$dir/dovecot/$s" ] && [ "$SECONDS" -lt "$end" ]; do
			sleep 0.02
		done
		[ -S "$dir/dovecot/$s" ] || {
			_mail_err "no Dovecot socket $dir/dovecot/$s"
			return 1
		}
	done
	kill -0 "$MAIL_RECORDER_PID" 2>/dev/null || {
		_mail_err "the recorder ended:"
		cat "$dir/recorder.out" >&2
		return 1
	}
	return 0
}

# _mail_alive PID: PID runs (a zombie, not yet reaped by its parent, such
# as init in a container, does not).
_mail_alive() {
	local st
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	[ -n "$st" ] && [ "${st:0:1}" != Z ]
}

# _mail_wait_gone TICKS PID...: waits up to TICKS * 10 ms until no PID
# runs; non-zero if one still does.
_mail_wait_gone() {
	local t=$1 pid left i
	shift
	for ((i = 0; i <= t; i++)); do
		left=0
		for pid in "$@"; do
			_mail_alive "$pid" && left=1 && break
		done
		[ "$left" = 1 ] || return 0
		[ "$i" -lt "$t" ] && sleep 0.01
	done
	return 1
}

# mail_stop DIR: TERM to every process of DIR's servers at once (Dovecot's
# master, stopped alone, waits a second for its log process), KILL to what
# is left after 3 s; again for any process that appeared meanwhile.
mail_stop() {
	local dir=${1:?usage: mail_stop DIR} pids=() pid i alive
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd)
	for i in 1 2 3; do
		mapfile -t -O "${#pids[@]}" pids < <(mail_pids "$dir")
		alive=()
		for pid in "${pids[@]}"; do
			_mail_alive "$pid" && alive+=("$pid")
		done
		[ ${#alive[@]} -gt 0 ] || break
		kill -TERM "${alive[@]}" 2>/dev/null || true
		_mail_wait_gone 300 "${alive[@]}" && continue
		kill -KILL "${alive[@]}" 2>/dev/null || true
		_mail_wait_gone 100 "${alive[@]}" || true
	done
	# Reap the recorder if it is this shell's child (no "Terminated" note).
	if [ -n "${MAIL_RECORDER_PID:-}" ]; then
		wait "$MAIL_RECORDER_PID" 2>/dev/null || true
		MAIL_RECORDER_PID=""
	fi
	rm -f "$dir/recorder.pid"
	return 0
}

# mail_files ADDRESS: the message files of ADDRESS's Maildir (new/, cur/).
mail_files() {
	local md=${MAILDIRS:?mail_start first}/${1,,}
	[ -d "$md/new" ] || return 0
	find "$md/new" "$md/cur" -maxdepth 1 -type f 2>/dev/null | sort || true
}

# mail_count ADDRESS: how many messages ADDRESS's Maildir holds.
mail_count() {
	mail_files "$1" | grep -c . || true
}

# mail_wait_count ADDRESS N [TIMEOUT_S]: on a timeout it also prints
# Postfix's log lines for ADDRESS and, if the caller defines
# mail_wait_hook, what that prints for ADDRESS (its sender's view).
mail_wait_count() {
	local addr=$1 n=$2 end=$((SECONDS + ${3:-10})) c
	while :; do
		c=$(mail_count "$addr")
		[ "$c" -ge "$n" ] && return 0
		if [ "$SECONDS" -ge "$end" ]; then
			_mail_err "$addr: $c message(s), wanted $n"
			grep -iF "<$addr>" "${MAIL_DIR:?}/postfix.log" 2>/dev/null |
				tail -n 8 | sed 's/^/mail.sh:   postfix: /' >&2
			! declare -F mail_wait_hook >/dev/null || mail_wait_hook "$addr" >&2
			return 1
		fi
		sleep 0.05
	done
}

# mail_settled [TIMEOUT_S]: waits until Postfix holds no message it is
# still working on (maildrop, incoming, active; deferred ones stay), so
# that every message a relay accepted so far has been delivered or
# deferred. Take a mailbox's count as a baseline only after this.
mail_settled() {
	local q=${MAIL_DIR:?mail_start first}/postfix-queue end=$((SECONDS + ${1:-20}))
	while [ -n "$(find "$q/maildrop" "$q/incoming" "$q/active" -type f 2>/dev/null | head -1)" ]; do
		if [ "$SECONDS" -ge "$end" ]; then
			_mail_err "Postfix still works on: $(find "$q/maildrop" "$q/incoming" "$q/active" -type f | wc -l) message(s)"
			return 1
		fi
		sleep 0.05
	done
}

# mail_deliver ADDRESS [FILE]: delivers FILE (or stdin) with dovecot-lda.
mail_deliver() {
	local addr=$1 file=${2:-/dev/stdin}
	/usr/lib/dovecot/dovecot-lda -c "${MAIL_DIR:?mail_start first}/dovecot/dovecot.conf" \
		-d "$addr" -f "test-sender@localhost.localdomain" <"$file"
}

# mail_postconf NAME=VALUE...: sets Postfix parameters, then reloads it.
mail_postconf() {
	local pf=${MAIL_DIR:?mail_start first}/postfix
	/usr/sbin/postconf -c "$pf" -e "$@" || return 1
	touch -d '-1 minute' "$pf/main.cf"
	/usr/sbin/postfix -c "$pf" reload >>"$MAIL_DIR/postfix.out" 2>&1
}

# mail_recorder_mode MODE: accept | tempfail | permfail | stall |
# dsn-refused.
mail_recorder_mode() {
	case $1 in
	accept | tempfail | permfail | stall | dsn-refused) ;;
	*)
		_mail_err "unknown recorder mode: $1"
		return 1
		;;
	esac
	echo "$1" >"${MAIL_DIR:?mail_start first}/recorder.mode.tmp" &&
		mv -f "$MAIL_DIR/recorder.mode.tmp" "$MAIL_DIR/recorder.mode"
}
