#!/usr/bin/env bash
#
# gpgsm-verify.sh FILE P12 PASS CA — checks a delivered S/MIME message with
# GnuPG's gpgsm, a second implementation beside smime-verify.sh (OpenSSL):
# FILE (a whole mail, e.g. a Maildir file) must be encrypted
# (application/pkcs7-mime) to the key in P12 (PKCS#12 with the recipient's
# certificate and key, password PASS), and what it decrypts to must be
# signed (multipart/signed, or opaque signed-data) by a certificate that
# chains to CA.
#
# gpgsm imports only the legacy PKCS#12 encoding (3DES), made with e.g.
#   openssl pkcs12 -export -legacy -certpbe NONE -keypbe PBE-SHA1-3DES -in C.pem -inkey C.key \
#       -certfile ca.pem -passout pass:PASS -out C.p12
# Limits of gpgsm 2.2 (Debian 12), found with OpenSSL 3.0 messages: it
# decrypts RSA key transport with AES-CBC (EnvelopedData), but not AES-GCM
# (AuthEnvelopedData: "error getting IV: Buffer too short"), and it cannot
# import an EC key from PKCS#12 (it crashes). Such failures are named.
#
# Works in a temporary GNUPGHOME (removed afterwards, its gpg-agent
# stopped): CA is trusted through trustlist.txt, CRL checks and dirmngr are
# off, passphrases go through --pinentry-mode loopback.
#
# Prints the signed content (the inner MIME entity, with its headers) on
# stdout; exits non-zero, with the reason on stderr, on any failure.
set -euo pipefail

prog=${0##*/}
if [ $# -ne 4 ]; then
	echo "usage: $prog FILE P12 PASS CA" >&2
	exit 2
fi
file=$1 p12=$2 pass=$3 ca=$4
for f in "$file" "$p12" "$ca"; do
	[ -r "$f" ] || {
		echo "$prog: cannot read $f" >&2
		exit 2
	}
done
PY=/usr/bin/python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpgsm-verify.XXXXXX")
export GNUPGHOME=$tmp/gnupg
cleanup() {
	gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true
	rm -rf -- "$tmp"
}
trap cleanup EXIT
mkdir -m 0700 "$GNUPGHOME"
cat >"$GNUPGHOME/gpgsm.conf" <<'EOF'
disable-crl-checks
disable-dirmngr
no-common-certs-import
EOF
echo allow-loopback-pinentry >"$GNUPGHOME/gpg-agent.conf"

die() {
	echo "$prog: $1" >&2
	[ -f "$tmp/err" ] && cat "$tmp/err" >&2
	exit 1
}

GPGSM=(gpgsm --batch --no-tty --pinentry-mode loopback)

# The CA, trusted for S/MIME (flag S) without asking ("relax").
"${GPGSM[@]}" --import "$ca" >"$tmp/err" 2>&1 || die "cannot import $ca:"
fpr=$(openssl x509 -in "$ca" -noout -fingerprint -sha1 2>"$tmp/err") ||
	die "cannot read $ca:"
echo "${fpr#*=} S relax" >"$GNUPGHOME/trustlist.txt"

# The recipient's key. The PKCS#12 password is asked first, then the new
# passphrase the agent protects the key with: both PASS.
# (gpgsm 2.2, Debian 12, imports no EC key from PKCS#12: it crashes.)
if ! printf '%s\n%s\n%s\n' "$pass" "$pass" "$pass" |
	"${GPGSM[@]}" --passphrase-fd 0 --import "$p12" >"$tmp/err" 2>&1; then
	if openssl pkcs12 -in "$p12" -passin "pass:$pass" -nokeys -clcerts 2>/dev/null |
		openssl x509 -noout -text 2>/dev/null | grep -q "id-ecPublicKey"; then
		echo "(an EC key: gpgsm 2.2 cannot import EC keys from PKCS#12)" >>"$tmp/err"
	fi
	die "cannot import $p12:"
fi
grep -q "secret keys imported: 1\|secret keys unchanged: 1" "$tmp/err" ||
	die "no secret key imported from $p12 (not the legacy 3DES encoding?):"

# mime_part FILE OUT: the body of FILE's application/pkcs7-mime part,
# decoded (DER), in OUT.
mime_part() {
	"$PY" - "$1" "$2" <<'PY'
import email, email.policy, sys
with open(sys.argv[1], "rb") as f:
    msg = email.message_from_binary_file(f, policy=email.policy.compat32)
for part in msg.walk():
    if part.get_content_type() in ("application/pkcs7-mime",
                                   "application/x-pkcs7-mime"):
        data = part.get_payload(decode=True)
        if data:
            open(sys.argv[2], "wb").write(data)
            sys.exit(0)
sys.exit("no application/pkcs7-mime part in " + sys.argv[1])
PY
}

# split_signed FILE DATA SIG: splits the multipart/signed entity FILE into
# its first part exactly as signed (line ends made CRLF, RFC 8551 3.1.1)
# and the decoded signature; exit 3 if FILE is not multipart/signed.
split_signed() {
	"$PY" - "$1" "$2" "$3" <<'PY'
import email, email.policy, re, sys
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.compat32)
if msg.get_content_type() != "multipart/signed":
    sys.exit(3)
boundary = msg.get_boundary()
if not boundary:
    sys.exit("multipart/signed without a boundary")
crlf = re.sub(rb"\r?\n", b"\r\n", raw)
b = b"--" + boundary.encode()
start = crlf.find(b"\r\n" + b + b"\r\n")
if start < 0:
    sys.exit("no first part")
start += len(b) + 4
end = crlf.find(b"\r\n" + b, start)
if end < 0:
    sys.exit("no end of the first part")
open(sys.argv[2], "wb").write(crlf[start:end])
sig = None
for part in msg.get_payload():
    if part.get_content_type() in ("application/pkcs7-signature",
                                   "application/x-pkcs7-signature"):
        sig = part.get_payload(decode=True)
if not sig:
    sys.exit("no application/pkcs7-signature part")
open(sys.argv[3], "wb").write(sig)
PY
}

mime_part "$file" "$tmp/enc.der" 2>"$tmp/err" || die "not an S/MIME encrypted message:"
if ! "${GPGSM[@]}" --status-fd 3 --passphrase-fd 4 --assume-binary --output "$tmp/inner" \
	--decrypt "$tmp/enc.der" 2>"$tmp/err" 3>"$tmp/status.dec" 4<<<"$pass"; then
	if openssl asn1parse -inform DER -in "$tmp/enc.der" 2>/dev/null | head -3 |
		grep -q authEnvelopedData; then
		echo "(AuthEnvelopedData, i.e. AES-GCM: gpgsm 2.2 cannot decrypt it)" >>"$tmp/err"
	fi
	die "decryption failed:"
fi
grep -q '^\[GNUPG:\] DECRYPTION_OKAY' "$tmp/status.dec" ||
	die "decryption not confirmed (no DECRYPTION_OKAY):"

rc=0
split_signed "$tmp/inner" "$tmp/data" "$tmp/sig.der" 2>"$tmp/err" || rc=$?
case $rc in
0)
	"${GPGSM[@]}" --status-fd 3 --assume-binary --verify "$tmp/sig.der" "$tmp/data" \
		2>"$tmp/err" 3>"$tmp/status.ver" || die "signature verification failed:"
	content=$tmp/data
	;;
3)
	# Not multipart/signed: opaque signed-data (application/pkcs7-mime).
	mime_part "$tmp/inner" "$tmp/signed.der" 2>"$tmp/err" ||
		die "the decrypted content is not signed:"
	"${GPGSM[@]}" --status-fd 3 --assume-binary --output "$tmp/data" \
		--verify "$tmp/signed.der" 2>"$tmp/err" 3>"$tmp/status.ver" ||
		die "signature verification failed:"
	content=$tmp/data
	;;
*) die "cannot split the multipart/signed content:" ;;
esac

# A good signature, by a certificate gpgsm validated up to the trusted CA.
if ! grep -q '^\[GNUPG:\] GOODSIG' "$tmp/status.ver" ||
	! grep -q '^\[GNUPG:\] VALIDSIG' "$tmp/status.ver" ||
	! grep -q '^\[GNUPG:\] TRUST_FULLY' "$tmp/status.ver" ||
	grep -qE '^\[GNUPG:\] (BADSIG|ERRSIG|TRUST_NEVER|TRUST_UNDEFINED)' "$tmp/status.ver"; then
	cat "$tmp/status.ver" >>"$tmp/err"
	die "signature not good and fully trusted:"
fi
cat "$content"
