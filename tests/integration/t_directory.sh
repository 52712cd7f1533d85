#!/usr/bin/env bash
# Certificates from LDAP directories, against a real OpenLDAP slapd
# (tests/servers/ldap.sh: ldaps:// with a bind, ldap:// with StartTLS)
# loaded with the dev PKI's certificates, and the real Postfix:
# cert lookup explains what it found and chose (a PKCS#7
# userSMIMECertificate, the longer of two valid ones, refusals for an
# expired, a revoked, another address's certificate); a contact added
# without a certificate gets one, with its source, audited; a distribution
# looks up members first and the plan goes encrypted to the certificate
# found (openssl cms -decrypt); a directory that hangs or is down delays
# nothing beyond one timeout, and the lookup is retried, across a
# restart, once the directory is up.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"
. "$ROOT/tests/servers/ldap.sh"

LDIR=$TDIR/ldap
trap 'kip_stop; ldap_stop "$LDIR"; ldap_slow_stop "$LDIR"; mail_stop "$TDIR/mail" >/dev/null 2>&1; rm -rf "$TDIR"' EXIT
if ! ldap_start "$LDIR" >"$TDIR/ldap-start.log" 2>&1; then
	fail "slapd starts" "$(cat "$TDIR/ldap-start.log")"
	t_done
	exit 1
fi
ldap_slow_start "$LDIR"
DOWN_PORT=$(_ldap_free_port) # nobody listens there
LDAPS="ldaps://127.0.0.1:$LDAPS_PORT"
STARTTLS="ldap://127.0.0.1:$LDAP_PORT"

# A directory entry for kipd.conf: dir URI [more settings].
dir() { echo "{ uri = \"$1\"; base = \"$LDAP_BASE\"; ca_file = \"$LDAP_CA\"; ${2:-} }"; }
BIND="bind_dn = \"$LDAP_BIND_DN\"; password_file = \"$LDAP_PASSWORD_FILE\";"
# dirconf TIMEOUT_MS RETRY_S ENTRY...: kipd's configuration with these
# directories.
dirconf() {
	local t=$1 rs=$2 list
	shift 2
	list=$(IFS=,; echo "$*")
	mail_conf "$POSTFIX_URL" "directory = { servers = ( $list ); timeout_ms = $t; retry_s = $rs; };"
}
fpr() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
json() { kipctl --json "$@"; }
# ms CMD...: runs CMD, prints how many milliseconds it took.
ms() {
	local t0
	t0=$(date +%s%3N)
	"$@" >/dev/null 2>&1
	echo $(($(date +%s%3N) - t0))
}

# --- configuration ---------------------------------------------------------
dirconf 1500 2 "$(dir "$LDAPS" "bind_dn = \"$LDAP_BIND_DN\"; password_file = \"$TDIR/nopass\";")"
check_err "a missing bind password file is refused with file, line and key" \
	"kipd.conf:[0-9]+: directory.servers\[0\].password_file: $TDIR/nopass: cannot read: No such file" \
	"$KIPD" -n -c "$TDIR/kipd.conf"
install -m 0644 "$LDAP_PASSWORD_FILE" "$TDIR/openpass"
dirconf 1500 2 "$(dir "$LDAPS" "bind_dn = \"$LDAP_BIND_DN\"; password_file = \"$TDIR/openpass\";")"
check_err "a bind password file others may read is refused" \
	"directory.servers\[0\].password_file: .*group or others may access it" \
	"$KIPD" -n -c "$TDIR/kipd.conf"
dirconf 1500 2 "$(dir "ldap://127.0.0.1:$LDAP_PORT")"
check_err "ldap:// without StartTLS is refused" "ldap:// needs starttls = true" \
	"$KIPD" -n -c "$TDIR/kipd.conf"
KIP_EXTRA_CONF="directory = { servers = ( $(dir "$LDAPS") ); };"
kip_config
check_err "directories without smime.ca_bundle are refused" \
	"directory.servers needs smime.ca_bundle" "$KIPD" -f -c "$TDIR/kipd.conf"

# --- cert lookup -----------------------------------------------------------
dirconf 1500 2 "$(dir "$LDAPS" "$BIND")" "$(dir "$STARTTLS" "starttls = true;")"
kip_start
out=$(json cert lookup peter.psykiatri@region.example)
check_eq "a PKCS#7 userSMIMECertificate is found over ldaps:// with a bind" \
	"found $(fpr "$PKI/peter.psykiatri_at_region.example.pem")" \
	"$(jq -r '"\(.outcome) \(.chosen)"' <<<"$out")"
check_eq "both directories answered (the second over StartTLS)" "answered answered 1 1" \
	"$(jq -r '[.directories[] | .state] + [.directories[] | .found | tostring] | join(" ")' <<<"$out")"
check_eq "the same certificate from two directories is one candidate" 1 \
	"$(jq '.candidates | length' <<<"$out")"
out=$(json cert lookup twin@region.example)
check_eq "of two valid certificates the one that lasts longest is chosen" \
	"$(fpr "$PKI/twin_long.pem")" "$(jq -r .chosen <<<"$out")"
check_eq "the other is shown as valid but shorter" "valid, but ends before the one chosen" \
	"$(jq -r --arg f "$(fpr "$PKI/twin_short.pem")" '.candidates[] | select(.fingerprint == $f) | .reason' <<<"$out")"
check_out "an expired certificate is refused, saying so" \
	'refused: certificate expired on 2021-01-01.*"outcome": "none"' \
	sh -c "$KIPCTL --json cert lookup expired@region.example | tr -d '\n'"
check_out "a revoked certificate is refused (CRL)" "refused: certificate revoked" \
	kipctl --json cert lookup revoked@region.example
check_out "a certificate for another address is refused" \
	"refused: certificate is for someone.else@region.example, not for mona.mismatch@region.example" \
	kipctl --json cert lookup mona.mismatch@region.example
check_eq "an entry without certificates gives none" "none 0 0" \
	"$(json cert lookup nocert@region.example | jq -r '"\(.outcome) \(.directories[0].found) \(.candidates | length)"')"
check_eq "an unknown address gives none" "none" \
	"$(json cert lookup nobody.here@region.example | jq -r .outcome)"
out=$(json cert lookup junk@region.example)
check_eq "a value that is no certificate is reported, not fatal" \
	"1 value(s) hold no certificate|none" \
	"$(jq -r '"\(.directories[0].error)|\(.outcome)"' <<<"$out")"
check_err "a professional may not look up" "cert.lookup needs the role coordinator" \
	as bin "$KIPCTL" cert lookup peter.psykiatri@region.example
check_err "a lookup needs an address" "not a valid e-mail address" \
	kipctl cert lookup 'x*)(mail=*'

# --- a contact added without a certificate --------------------------------
add() { json contact add --kind professional "$@" | jq -r .id; }
P=$(add --name "Peter Psykiatri" --email peter.psykiatri@region.example)
show=$(json contact show "$P")
check_eq "a contact added without a certificate gets the directory's" \
	"$(fpr "$PKI/peter.psykiatri_at_region.example.pem") directory:$LDAPS" \
	"$(jq -r '"\(.cert_fingerprint) \(.cert_source)"' <<<"$show")"
check_out "contact show says when it came" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T' \
	jq -r .cert_source_at <<<"$show"
check_eq "the directory's certificate is audited" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM audit WHERE action = 'cert.directory' AND object = 'contact:$P'")"
K=$(add --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem")
check_eq "an imported certificate says so" "import" "$(json contact show "$K" | jq -r .cert_source)"
V=$(add --name "Viggo Spærret" --email revoked@region.example)
check_eq "a refused certificate is not stored" "null" "$(json contact show "$V" | jq -r .cert_fingerprint)"
U=$(add --name "Ulla Uden" --email ulla@region.example)
check_eq "the contact's address changed: looked up again" \
	"$(fpr "$PKI/twin_long.pem")" \
	"$(kipctl contact update "$U" --email twin@region.example >/dev/null; json contact show "$U" | jq -r .cert_fingerprint)"

# --- distribution: members looked up first, mail encrypted to the result ---
C=$(json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
PLAN=$(json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$V"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
M=$(json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place "Rådhuset" | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null
# Peter's stored certificate is no longer usable (it expired while kipd
# was stopped; the row still says 2099), and Karen's is gone: the
# distribution must find both again.
kip_stop
sqlite3 "$TDIR/kip.db" "UPDATE contacts SET cert_pem = readfile('$PKI/expired.pem'),
	cert_not_after = '2099-01-01T00:00:00Z', cert_source = NULL WHERE id = $P"
sqlite3 "$TDIR/kip.db" "UPDATE contacts SET cert_pem = NULL, cert_fingerprint = NULL,
	cert_not_after = NULL, cert_source = NULL WHERE id = $K"
kip_start
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null
outbox_drained "$PLAN" && pass "the outbox drains" || fail "the outbox drains"
status=$(json plan status "$PLAN")
st() { jq -r --arg n "$1" '[.messages[] | select(.name == $n and .kind == "plan") | .state] | join(",")' <<<"$status"; }
check_eq "the member whose certificate was unusable gets the plan" "sent" "$(st "Peter Psykiatri")"
check_eq "the coordinator without one gets it too" "sent" "$(st "Karen Koordinator")"
check_eq "both certificates came from the directory before the distribution" \
	"directory:$LDAPS directory:$LDAPS" \
	"$(json contact show "$P" | jq -r .cert_source) $(json contact show "$K" | jq -r .cert_source)"
check_eq "the member whose directory certificate is revoked gets manual delivery" "manual" \
	"$(st "Viggo Spærret")"
mail_wait_count peter.psykiatri@region.example 1 10 >/dev/null
f=$(newest peter.psykiatri@region.example "" "pkcs7-mime")
if [ -n "$f" ] && openssl cms -decrypt -in "$f" \
	-recip "$PKI/peter.psykiatri_at_region.example.pem" \
	-inkey "$PKI/peter.psykiatri_at_region.example.key" >"$TDIR/peter.dec" 2>"$TDIR/peter.err"; then
	pass "Peter's mail decrypts with the key of the certificate found (openssl cms)"
else
	fail "Peter's mail decrypts with the key of the certificate found (openssl cms)" \
		"$(cat "$TDIR/peter.err" 2>/dev/null) file: $f"
fi
check_out "the decrypted mail is the organisation's signed plan" "application/pkcs7-signature" \
	cat "$TDIR/peter.dec"

# --- a directory that hangs, and one that is down --------------------------
# (The hanging one accepts the connection and never answers the TLS
# handshake.)
# (retry_s 60: a directory that failed is skipped for the rest of this.)
kip_stop
dirconf 1500 60 "$(dir "ldaps://127.0.0.1:$LDAP_SLOW_PORT")" \
	"$(dir "ldaps://127.0.0.1:$DOWN_PORT")" "$(dir "$LDAPS" "$BIND")"
kip_start
slow_timeouts() { tail -n +"$1" "$TDIR/kipd.log" | grep -c "directory ldaps://127.0.0.1:$LDAP_SLOW_PORT: no answer within 1500 ms"; }
L0=$(($(wc -l <"$TDIR/kipd.log") + 1))
N1=$(add --name "Nils Nocert" --email nocert@region.example)
N2=$(add --name "Mona Mismatch" --email mona.mismatch@region.example)
N3=$(add --name "Xenia Udløbet" --email expired@region.example)
N4=$(add --name "Tina Twin" --email twin2@region.example)
check_out "the contact adds waited for the hanging directory only once" \
	"skipped for 60 s" grep "directory ldaps://127.0.0.1:$LDAP_SLOW_PORT" "$TDIR/kipd.log"
check_eq "four contacts added, one search of the hanging directory timed out" "1" "$(slow_timeouts "$L0")"
for m in "$N1" "$N2" "$N3" "$N4"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
sed 's/^follow_up: .*/follow_up: 2014-10-15/' "$FIXTURES/bilag2.yaml" >"$TDIR/v2.yaml"
kipctl plan version add "$PLAN" --meeting "$M" --file "$TDIR/v2.yaml" >/dev/null
kip_stop
kip_start # forgets which directories were down
L0=$(($(wc -l <"$TDIR/kipd.log") + 1))
t=$(ms kipctl plan approve "$PLAN" --version 2 --how afterwards)
echo "# the approval with 4 lookups and a hanging directory took $t ms (timeout 1500 ms)"
check_eq "a distribution with 4 lookups and a hanging directory waits one timeout" "1" \
	"$(slow_timeouts "$L0")"
check_out "the hanging directory was given up after the timeout" \
	"directory ldaps://127.0.0.1:$LDAP_SLOW_PORT: no answer within 1500 ms" \
	tail -50 "$TDIR/kipd.log"
check_out "the directory that is down failed at once" \
	"directory ldaps://127.0.0.1:$DOWN_PORT: .*Can't contact LDAP server \(after [0-9]{1,3} ms\)" \
	tail -50 "$TDIR/kipd.log"
outbox_drained "$PLAN" && pass "the outbox drains again" || fail "the outbox drains again"
check_eq "Peter still gets version 2 encrypted" "sent" \
	"$(json plan status "$PLAN" | jq -r '[.messages[] | select(.name == "Peter Psykiatri" and .kind == "plan" and .version == 2) | .state] | join(",")')"
check_alive

# --- retried once the directory is up, across a restart --------------------
kip_stop
ldap_stop "$LDIR"
dirconf 1500 2 "$(dir "$LDAPS" "$BIND")"
kip_start
# A relative this time: looked up as any contact is.
kipctl consent give "$C" --scope relatives --date 2026-11-01 --document "J.nr. 2" >/dev/null
T=$(json contact add --kind relative --citizen "$C" --name "Tove Twin" \
	--email twin@region.example | jq -r .id)
check_eq "with the directory down, the contact is added without a certificate" "null" \
	"$(json contact show "$T" | jq -r .cert_fingerprint)"
check_eq "the lookup is kept for a retry" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT tries FROM directory_lookups WHERE email = 'twin@region.example'")"
sleep 2.5 # the first retry fails too: the wait doubles
check_eq "a failed retry doubles the wait" "2" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT tries FROM directory_lookups WHERE email = 'twin@region.example'")"
kip_stop
ldap_start "$LDIR" >/dev/null 2>&1
kip_start
got=""
for _ in $(seq 1 80); do
	got=$(json contact show "$T" | jq -r '"\(.cert_fingerprint) \(.cert_source)"')
	[ "${got%% *}" != null ] && break
	sleep 0.1
done
check_eq "after a restart, the retry finds the certificate once the directory is up" \
	"$(fpr "$PKI/twin_long.pem") directory:$LDAPS" "$got"
check_eq "the retry's lookup is done with" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM directory_lookups WHERE email = 'twin@region.example'")"
check_eq "the retry is audited as kipd's" "kipd" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT os_user FROM audit WHERE action = 'cert.directory' AND object = 'contact:$T'")"

# --- a bind the directory refuses ------------------------------------------
# With no lookup left for the retry timer: a retry at the start would meet
# the refused bind first, and the directory would be skipped for a while.
kip_stop
sqlite3 "$TDIR/kip.db" "DELETE FROM directory_lookups"
echo wrong-password >"$TDIR/wrongpass" && chmod 0600 "$TDIR/wrongpass"
dirconf 1500 2 "$(dir "$LDAPS" "bind_dn = \"$LDAP_BIND_DN\"; password_file = \"$TDIR/wrongpass\";")"
kip_start
check_eq "a refused bind is a failed directory, saying why" \
	"directory failed|failed|bind: Invalid credentials" \
	"$(json cert lookup nocert@region.example | jq -r '"\(.outcome)|\(.directories[0].state)|\(.directories[0].error)"')"
check_alive

# --- kill -9 while a helper searches -----------------------------------------
# A search runs in a helper process kipd started ("kipd --helper ldap").
# It holds none of kipd's files; killed with kipd, it must not outlive it,
# nor hold the store's lock: kipd starts again at once.
kip_stop
dirconf 8000 2 "$(dir "ldaps://127.0.0.1:$LDAP_SLOW_PORT")"
kip_start
timeout 30 "$KIPCTL" cert lookup slow@region.example >/dev/null 2>&1 &
look=$!
exe=$(readlink "/proc/$KIPD_PID/exe")
child=""
for _ in $(seq 1 200); do
	for p in $(pgrep -P "$KIPD_PID"); do
		[ "$(readlink "/proc/$p/exe")" = "$exe" ] && child=$p
	done
	[ -n "$child" ] && break
	sleep 0.02
done
check "the search runs in a child of kipd" test -n "$child"
check_eq "started anew as a helper, not forked" "kipd --helper ldap $KIPD_PID" \
	"$(tr '\0' ' ' <"/proc/$child/cmdline" 2>/dev/null | sed 's/ $//')"
# (0-2: its job, its answer and kipd's log; above them only its own
# files: its connection to the directory, libldap's)
check_eq "holding none of kipd's files above 0-2 (the store, its lock, the socket)" "" \
	"$(find "/proc/$child/fd" -mindepth 1 ! -name 0 ! -name 1 ! -name 2 -printf '%l\n' 2>/dev/null | grep -F "$TDIR" || true)"
kill -9 "$KIPD_PID"
wait "$KIPD_PID" 2>/dev/null
KIPD_PID=""
wait "$look" 2>/dev/null
gone() { [ ! -e "/proc/$1" ] || grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
for _ in $(seq 1 50); do
	gone "$child" && break
	sleep 0.02
done
check "the helper ended with kipd" gone "$child"
kip_start && pass "kipd starts again at once: the helper held no lock" ||
	fail "kipd starts again at once: the helper held no lock"
check_alive
t_done
