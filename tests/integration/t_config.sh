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
check_eq "it is refused before the store is opened" "no store" \
	"$([ -e "$TDIR/kip.db" ] && echo store || echo no store)"
ssl_conf sslok.conf "$SSL_VERSION"
check_out "the running OpenSSL's own version as the minimum is accepted" \
	"configuration ok" "$KIPD" --check-config -c "$TDIR/sslok.conf"
ssl_conf sslbad.conf 3.0
ssl_refused "a malformed minimum is refused, naming the key and its line" \
	"sslbad.conf:[0-9]+: smime\.openssl_min_version: '3\.0' is not a version MAJOR\.MINOR\.PATCH" \
	sslbad.conf

check_err "kipd refuses to start on a bad config" "bad1.conf:1" "$KIPD" -f -c "$TDIR/bad1.conf"
check_err "a missing config is reported" "nonexistent.conf" "$KIPD" -f -c "$TDIR/nonexistent.conf"

kip_start
check_alive "kipd starts on the test config"
check_out "kipd logs the OpenSSL it runs on" \
	"running on OpenSSL $SSL_VERSION .*\(smime\.openssl_min_version 3\.0\.0\)" cat "$TDIR/kipd.log"
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

# A reload that raises the minimum above the running OpenSSL is refused.
cp "$TDIR/sslmin.conf" "$TDIR/kipd.conf"
kill -HUP "$KIPD_PID"; sleep 0.3
check_out "a reload above the running OpenSSL is refused" \
	"reload refused.*OpenSSL $SSL_VERSION .*older than smime\.openssl_min_version 99\.0\.0" cat "$TDIR/kipd.log"
check_alive "kipd serves on after the refused reload"
cp "$TDIR/kipd.conf.good" "$TDIR/kipd.conf"
t_done
