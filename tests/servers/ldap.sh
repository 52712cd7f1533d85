# tests/servers/ldap.sh — a real OpenLDAP slapd for kip's directory tests
# (sourced).
#
# ldap_start DIR   starts slapd on 127.0.0.1 with ldaps:// on LDAPS_PORT and
#                  ldap:// (StartTLS offered) on LDAP_PORT (free ports
#                  picked on the first start, kept after), the dev PKI's
#                  server.pem (from $PKI or DIR/pki), an mdb database in DIR
#                  with the schemas core, cosine and inetorgperson, loaded
#                  once from the dev PKI (see ldap_load). Exports LDAP_BASE,
#                  LDAP_BIND_DN, LDAP_PASSWORD_FILE (mode 0600, for kipd),
#                  LDAP_CA, LDAPS_PORT, LDAP_PORT. Anonymous reads are
#                  allowed, and so is a simple bind as LDAP_BIND_DN.
# ldap_stop DIR    stops it (the database stays for the next start)
# ldap_slow_start DIR   a listener on LDAP_SLOW_PORT that accepts and never
#                  answers (a directory that hangs)
# ldap_slow_stop DIR
#
# The entries (ou=people,LDAP_BASE), each with mail= and certificates:
#   peter.psykiatri@region.example  userSMIMECertificate: a PKCS#7
#                                   SignedData holding his certificate
#   twin@region.example             userCertificate;binary: twin_short and
#                                   twin_long (both valid)
#   expired@region.example          expired.pem
#   revoked@region.example          revoked.pem (listed in crl.pem)
#   mona.mismatch@region.example    wrongaddr.pem (someone.else@...)
#   karen.koordinator@kommune.example  her certificate, userCertificate
#   nocert@region.example           no certificate
#   junk@region.example             userCertificate;binary: bytes that are
#                                   no certificate, and expired.pem

_ldap_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ldap_b64 FILE: FILE (PEM certificate) as base64 DER on one line.
_ldap_der64() { openssl x509 -in "$1" -outform DER | base64 -w0; }

# ldap_load DIR PKI: the LDIF of the entries above into DIR/data.ldif.
ldap_load() {
	local dir=$1 pki=$2 p7
	p7=$(openssl crl2pkcs7 -nocrl -certfile "$pki/peter.psykiatri_at_region.example.pem" \
		-outform DER | base64 -w0)
	person() { # CN MAIL
		printf 'dn: cn=%s,ou=people,%s\nobjectClass: inetOrgPerson\ncn: %s\nsn: %s\nmail: %s\n' \
			"$1" "$LDAP_BASE" "$1" "${1##* }" "$2"
	}
	{
		printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\no: kip test\ndc: kip\n\n' "$LDAP_BASE"
		printf 'dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n' "$LDAP_BASE"
		printf 'dn: %s\nobjectClass: person\nobjectClass: simpleSecurityObject\ncn: kipd\nsn: kipd\nuserPassword: %s\n\n' \
			"$LDAP_BIND_DN" "$(cat "$LDAP_PASSWORD_FILE")"
		person "Peter Psykiatri" peter.psykiatri@region.example
		echo "userSMIMECertificate:: $p7"
		echo
		person "Tina Twin" twin@region.example
		echo "userCertificate;binary:: $(_ldap_der64 "$pki/twin_short.pem")"
		echo "userCertificate;binary:: $(_ldap_der64 "$pki/twin_long.pem")"
		echo
		person "Xenia Expired" expired@region.example
		echo "userCertificate;binary:: $(_ldap_der64 "$pki/expired.pem")"
		echo
		person "Viggo Revoked" revoked@region.example
		echo "userCertificate;binary:: $(_ldap_der64 "$pki/revoked.pem")"
		echo
		person "Mona Mismatch" mona.mismatch@region.example
		echo "userCertificate;binary:: $(_ldap_der64 "$pki/wrongaddr.pem")"
		echo
		person "Karen Koordinator" karen.koordinator@kommune.example
		echo "userCertificate;binary:: $(_ldap_der64 "$pki/karen.koordinator_at_kommune.example.pem")"
		echo
		person "Nils Nocert" nocert@region.example
		echo
		person "Jens Junk" junk@region.example
		echo "userCertificate;binary:: $(printf 'no certificate' | base64 -w0)"
		echo "userCertificate;binary:: $(_ldap_der64 "$pki/expired.pem")"
		echo
	} >"$dir/data.ldif"
}

ldap_start() {
	local dir=$1 pki=${PKI:-$1/pki}
	mkdir -p "$dir/db"
	[ -f "$pki/server.pem" ] || "$(dirname "${BASH_SOURCE[0]}")/../../certs/make-dev-certs.sh" "$pki" >/dev/null
	[ -n "${LDAPS_PORT:-}" ] || LDAPS_PORT=$(_ldap_free_port)
	[ -n "${LDAP_PORT:-}" ] || LDAP_PORT=$(_ldap_free_port)
	export LDAPS_PORT LDAP_PORT LDAP_CA=$pki/ca.pem
	export LDAP_BASE="dc=kip,dc=test" LDAP_BIND_DN="cn=kipd,dc=kip,dc=test"
	export LDAP_PASSWORD_FILE=$dir/ldap-password
	if [ ! -f "$dir/slapd.conf" ]; then
		head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$LDAP_PASSWORD_FILE"
		chmod 0600 "$LDAP_PASSWORD_FILE"
		# slapd (GnuTLS) reads its key and certificate as the user it
		# runs as; copies keep the PKI's modes out of it.
		cp "$pki/server.pem" "$pki/server.key" "$pki/ca.pem" "$dir/"
		cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $dir/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $dir/ca.pem
TLSCertificateFile $dir/server.pem
TLSCertificateKeyFile $dir/server.key
TLSProtocolMin 3.3
loglevel stats
database mdb
suffix "$LDAP_BASE"
rootdn "cn=admin,$LDAP_BASE"
directory $dir/db
maxsize 10485760
access to attrs=userPassword by anonymous auth by * none
access to * by * read
CONF
		ldap_load "$dir" "$pki"
		slapadd -q -f "$dir/slapd.conf" -l "$dir/data.ldif" >"$dir/slapadd.log" 2>&1 || {
			echo "slapadd failed:" >&2
			cat "$dir/slapadd.log" >&2
			return 1
		}
	fi
	slapd -f "$dir/slapd.conf" -h "ldaps://127.0.0.1:$LDAPS_PORT/ ldap://127.0.0.1:$LDAP_PORT/" \
		-d stats >>"$dir/slapd.log" 2>&1 &
	echo $! >"$dir/slapd.bgpid"
	for _ in $(seq 1 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$LDAPS_PORT") 2>/dev/null &&
			(exec 3<>"/dev/tcp/127.0.0.1/$LDAP_PORT") 2>/dev/null; then
			return 0
		fi
		kill -0 "$(cat "$dir/slapd.bgpid")" 2>/dev/null || break
		sleep 0.05
	done
	echo "slapd did not start:" >&2
	tail -20 "$dir/slapd.log" >&2
	return 1
}

ldap_stop() {
	local dir=$1 pid
	[ -f "$dir/slapd.bgpid" ] || return 0
	pid=$(cat "$dir/slapd.bgpid")
	kill "$pid" 2>/dev/null
	for _ in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	rm -f "$dir/slapd.bgpid"
}

ldap_slow_start() {
	local dir=$1
	mkdir -p "$dir"
	[ -n "${LDAP_SLOW_PORT:-}" ] || LDAP_SLOW_PORT=$(_ldap_free_port)
	export LDAP_SLOW_PORT
	python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)  # accepted, never answered
' "$LDAP_SLOW_PORT" >"$dir/slow.log" 2>&1 &
	echo $! >"$dir/slow.pid"
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$LDAP_SLOW_PORT") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

ldap_slow_stop() {
	local dir=$1
	[ -f "$dir/slow.pid" ] || return 0
	kill "$(cat "$dir/slow.pid")" 2>/dev/null
	wait "$(cat "$dir/slow.pid")" 2>/dev/null
	rm -f "$dir/slow.pid"
}
