#!/usr/bin/env bash
# Configuration: validation with file and line, permissions, refusal to start.
. "$(dirname "$0")/../lib.sh"

kip_config
check_out "--check-config accepts the test config" "configuration ok" \
	"$KIPD" --check-config -c "$TDIR/kipd.conf"

cp "$ROOT/conf/kipd.conf" "$TDIR/example.conf"
chmod 0600 "$TDIR/example.conf"
check_out "the example conf/kipd.conf is valid" "configuration ok" \
	"$KIPD" --check-config -c "$TDIR/example.conf"

# kipd -n -v prints the effective configuration in the file's syntax:
# every key, an unset one as a comment, a secret as its file's path. The
# golden test: what it prints loads back, and printed again is the same,
# for the example and for a configuration that sets every kind of key.
# golden NAME CONF: prints CONF into NAME.printed, that into NAME.again.
golden() {
	"$KIPD" -n -v -c "$2" >"$TDIR/$1.printed" 2>"$TDIR/$1.verdict"
	chmod 0600 "$TDIR/$1.printed"
	"$KIPD" -n -v -c "$TDIR/$1.printed" >"$TDIR/$1.again" 2>>"$TDIR/$1.verdict"
	check_eq "kipd -n -v: $1's printout loads back and prints the same" "" \
		"$(diff "$TDIR/$1.printed" "$TDIR/$1.again" 2>&1)"
	check_eq "kipd -n -v: $1's verdicts go to stderr" \
		"$2: configuration ok|$TDIR/$1.printed: configuration ok" \
		"$(paste -sd'|' "$TDIR/$1.verdict")"
}
golden example "$TDIR/example.conf"
check_out "the example's printout shows a default" $'^\tmax_clients = 64;$' \
	cat "$TDIR/example.printed"
check_out "the example's printout shows an unset key" $'^\t# url: unset$' \
	cat "$TDIR/example.printed"

# A configuration with every group, lists, secrets (an encrypted S/MIME key
# with its passphrase file) and strings that need escaping.
RICH=$TDIR/rich
mkdir -p "$RICH"
for s in smtp mqtt intake; do printf '%s-secret\n' "$s" >"$RICH/$s pw"; done
printf 'key-passphrase\n' >"$RICH/pass"
chmod 0600 "$RICH"/*
openssl req -x509 -newkey rsa:2048 -days 2 -subj "/CN=kip test" \
	-addext "subjectAltName=email:kip@kommune.example" \
	-keyout "$RICH/org.key" -out "$RICH/org.pem" -passout file:"$RICH/pass" 2>/dev/null
chmod 0600 "$RICH/org.key"
cat >"$RICH/kipd.conf" <<CONF
store = { path = "$TDIR/kip.db"; };
control = { socket = "$TDIR/kipd.sock"; group = "kiptest"; max_clients = 1;
  max_request_bytes = 16777216; request_timeout_ms = 100; };
log = { level = "debug"; syslog = false; };
organisation = { name = "Næstved \\"Syd\\" \\\\ # // ; = { }";
  mailbox = "kip@kommune.example"; phone = "+45 12 34 56 78"; };
plans = { default_lang = "en"; follow_up_max_months = 1; retention_days = 0; };
timezone = "America/Argentina/Buenos_Aires";
smtp = { url = "smtps://mail.example:465"; username = "kip"; password_file = "$RICH/smtp pw";
  ca_file = "$RICH/org.pem"; client_cert = "$RICH/org.pem"; client_key = "$RICH/org.key";
  connections = 16; timeout_s = 5; retry_first_s = 1; retry_max_s = 86400; give_up_s = 60; };
smime = { cert = "$RICH/org.pem"; key = "$RICH/org.key"; key_passphrase_file = "$RICH/pass";
  chain = "$RICH/org.pem"; ca_bundle = "$RICH/org.pem"; allow_gcm = false;
  openssl_min_version = "1.1.1"; };
mail = { neutral_notice = false; };
mqtt = { host = "broker.example"; port = 1; ca_file = "$RICH/org.pem"; username = "kipd";
  password_file = "$RICH/mqtt pw"; topic_prefix = "kip/test"; client_id = "kipd-1";
  keepalive_s = 3600;
  reporters = ( { username = "dp-nord"; contact = "peter.psykiatri@region.example"; },
    { contact = "s@region.example"; username = "dp\\"syd"; } ); };
certificates = { notice_days = 365; notice_address = "it@kommune.example"; };
reminders = { offsets_days = "7, 2,1"; followup_days = "60"; escalation_address = "tilsyn@example.org"; };
deviations = { forward = "coordinator"; };
intake = { url = "imaps://imap.example:993/INBOX"; username = "kip@kommune.example";
  password_file = "$RICH/intake pw"; interval_s = 5; timeout_s = 600; max_message_bytes = 65536; };
users = (
  { user = "root"; role = "admin"; },
  { user = "daemon"; role = "coordinator"; contact = "karen.koordinator@kommune.example"; },
  { role = "professional"; contact = "peter.psykiatri@region.example"; user = "bin"; }
);
CONF
chmod 0600 "$RICH/kipd.conf"
golden rich "$RICH/kipd.conf"
check_eq "no secret is printed" "" \
	"$(grep -E 'smtp-secret|mqtt-secret|intake-secret|key-passphrase' "$TDIR/rich.printed")"
check_out "a secret's file is printed" "password_file = \"$RICH/smtp pw\";" \
	cat "$TDIR/rich.printed"
check_out "the lists are printed" \
	'\{ username = "dp\\"syd"; contact = "s@region.example"; \}' cat "$TDIR/rich.printed"

printf 'store = { pth = "/x"; };\n' >"$TDIR/bad1.conf"; chmod 600 "$TDIR/bad1.conf"
check_err "an unknown key is named with file and line" "bad1.conf:1: .*store.pth" \
	"$KIPD" --check-config -c "$TDIR/bad1.conf"

printf 'log = { level = "info"; };\ncontrol = {\n  max_clients = "many";\n};\n' >"$TDIR/bad2.conf"
chmod 600 "$TDIR/bad2.conf"
check_err "a wrong type is named with file and line" "bad2.conf:3: control.max_clients" \
	"$KIPD" --check-config -c "$TDIR/bad2.conf"

printf 'control = { max_clients = 100000; };\n' >"$TDIR/bad3.conf"; chmod 600 "$TDIR/bad3.conf"
check_err "an out-of-range value is refused" "bad3.conf:1: control.max_clients.*out of range" \
	"$KIPD" --check-config -c "$TDIR/bad3.conf"

printf 'store = { path = "/x" \n' >"$TDIR/bad4.conf"; chmod 600 "$TDIR/bad4.conf"
check_err "a syntax error is reported" "bad4.conf:[0-9]+: syntax error" \
	"$KIPD" --check-config -c "$TDIR/bad4.conf"

cp "$TDIR/kipd.conf" "$TDIR/open.conf"; chmod 0644 "$TDIR/open.conf"
check_err "a config others can read is refused" "open.conf: readable by others" \
	"$KIPD" --check-config -c "$TDIR/open.conf"

printf 's3cret\n' >"$TDIR/pw"; chmod 0644 "$TDIR/pw"
{ cat "$TDIR/kipd.conf"; printf 'smtp = { url = "smtps://127.0.0.1:4650"; password_file = "%s"; };\n' "$TDIR/pw"; } >"$TDIR/pw.conf"
chmod 0600 "$TDIR/pw.conf"
check_err "a secret file others can read is refused" "pw.*(readable|mode)" \
	"$KIPD" --check-config -c "$TDIR/pw.conf"
chmod 0600 "$TDIR/pw"
check_out "a private secret file is accepted" "configuration ok" \
	"$KIPD" --check-config -c "$TDIR/pw.conf"

# smime.openssl_min_version: kipd refuses an OpenSSL older than it, naming
# both versions, before it opens the store; a malformed value is refused at
# load. The running version is the library's, as the openssl tool reports it.
SSL_VERSION=$(openssl version | sed -n 's/.*Library: OpenSSL \([0-9.]*\).*/\1/p')
[ -n "$SSL_VERSION" ] || SSL_VERSION=$(openssl version | awk '{ print $2 }')
ssl_conf() {
	{ cat "$TDIR/kipd.conf"; printf 'smime = {\n  openssl_min_version = "%s";\n};\n' "$2"; } >"$TDIR/$1"
	chmod 0600 "$TDIR/$1"
}
# ssl_refused DESC PATTERN CONF: --check-config and a start both fail on
# CONF with a message matching PATTERN.
ssl_refused() {
	check_err "--check-config: $1" "$2" "$KIPD" --check-config -c "$TDIR/$3"
	check_err "start: $1" "$2" timeout 10 "$KIPD" -f -c "$TDIR/$3"
}
ssl_conf sslmin.conf 99.0.0
ssl_refused "an OpenSSL older than the minimum is refused, naming both" \
	"OpenSSL $SSL_VERSION \(OpenSSL $SSL_VERSION .*\) is older than smime\.openssl_min_version 99\.0\.0" \
	sslmin.conf
check_eq "kipd -n -v prints no configuration that fails the check" "" \
	"$("$KIPD" -n -v -c "$TDIR/sslmin.conf" 2>/dev/null)"
check_eq "it is refused before the store is opened" "no store" \
	"$([ -e "$TDIR/kip.db" ] && echo store || echo no store)"
ssl_conf sslok.conf "$SSL_VERSION"
check_out "the running OpenSSL's own version as the minimum is accepted" \
	"configuration ok" "$KIPD" --check-config -c "$TDIR/sslok.conf"
ssl_conf sslbad.conf 3.0
ssl_refused "a malformed minimum is refused, naming the key and its line" \
	"sslbad.conf:[0-9]+: smime\.openssl_min_version: '3\.0' is not a version MAJOR\.MINOR\.PATCH" \
	sslbad.conf

# timezone: a zone of the database in /usr/share/zoneinfo, named inside it.
# tz_conf FILE ZONE: the test config with timezone = ZONE as its last line.
tz_conf() {
	{ cat "$TDIR/kipd.conf"; printf 'timezone = "%s";\n' "$2"; } >"$TDIR/$1"
	chmod 0600 "$TDIR/$1"
}
tz_conf badtz.conf Europe/Atlantis
check_err "a time zone that does not exist is refused with file, line and key" \
	"badtz.conf:$(wc -l <"$TDIR/badtz.conf"): timezone: 'Europe/Atlantis' is not a time zone in /usr/share/zoneinfo" \
	"$KIPD" --check-config -c "$TDIR/badtz.conf"
check_err "and kipd does not start on it" "badtz.conf:[0-9]+: timezone" \
	timeout 10 "$KIPD" -f -c "$TDIR/badtz.conf"
tz_conf pathtz.conf ../../../etc/passwd
check_err "a path out of the zone database is refused" \
	"pathtz.conf:[0-9]+: timezone: '../../../etc/passwd' is not a time zone name" \
	"$KIPD" --check-config -c "$TDIR/pathtz.conf"
tz_conf tokyo.conf Asia/Tokyo
check_out "a zone without daylight saving time is accepted" "configuration ok" \
	"$KIPD" --check-config -c "$TDIR/tokyo.conf"
check_out "the example's printout shows the default zone" '^timezone = "Europe/Copenhagen";$' \
	cat "$TDIR/example.printed"

check_err "kipd refuses to start on a bad config" "bad1.conf:1" "$KIPD" -f -c "$TDIR/bad1.conf"
check_err "a missing config is reported" "nonexistent.conf" "$KIPD" -f -c "$TDIR/nonexistent.conf"

kip_start
check_alive "kipd starts on the test config"
check_out "kipd logs the OpenSSL it runs on" \
	"running on OpenSSL $SSL_VERSION .*\(smime\.openssl_min_version 3\.0\.0\)" cat "$TDIR/kipd.log"
check_out "and the zone of its local times" "local times in Europe/Copenhagen" cat "$TDIR/kipd.log"
check_err "a second kipd on the same store is refused" "in use by another kipd" \
	"$KIPD" -f -c "$TDIR/kipd.conf"
check_alive "the first kipd is undisturbed"
check_eq "the database is private (0600)" "600" "$(stat -c %a "$TDIR/kip.db")"

# SIGHUP with a broken config keeps the running one.
cp "$TDIR/kipd.conf" "$TDIR/kipd.conf.good"
printf 'bogus = 1;\n' >>"$TDIR/kipd.conf"
kill -HUP "$KIPD_PID"; sleep 0.3
check_out "a broken reload is refused and logged" "reload refused.*bogus" cat "$TDIR/kipd.log"
check_alive "kipd serves on the old configuration"
cp "$TDIR/kipd.conf.good" "$TDIR/kipd.conf"
kill -HUP "$KIPD_PID"; sleep 0.3
check_out "a good reload is applied" "configuration reloaded" cat "$TDIR/kipd.log"

# Another time zone takes effect only at a restart: setenv() may not run
# beside kipd's threads. The rest of the file is applied.
cp "$TDIR/tokyo.conf" "$TDIR/kipd.conf"
kill -HUP "$KIPD_PID"; sleep 0.3
check_out "a reload with another time zone says it needs a restart" \
	"reload: timezone 'Asia/Tokyo' takes effect only after a restart; times stay in Europe/Copenhagen" \
	cat "$TDIR/kipd.log"
check_eq "and the rest is applied" "2" "$(grep -c 'configuration reloaded' "$TDIR/kipd.log")"
check_alive "kipd serves on in its zone"
cp "$TDIR/kipd.conf.good" "$TDIR/kipd.conf"

# A reload that raises the minimum above the running OpenSSL is refused.
cp "$TDIR/sslmin.conf" "$TDIR/kipd.conf"
kill -HUP "$KIPD_PID"; sleep 0.3
check_out "a reload above the running OpenSSL is refused" \
	"reload refused.*OpenSSL $SSL_VERSION .*older than smime\.openssl_min_version 99\.0\.0" cat "$TDIR/kipd.log"
check_alive "kipd serves on after the refused reload"
cp "$TDIR/kipd.conf.good" "$TDIR/kipd.conf"
t_done
