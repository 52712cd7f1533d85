#!/usr/bin/env bash
#
# gpgsm-p12.sh CERT KEY PASS OUT [CHAIN] — writes OUT, a PKCS#12 of CERT
# and KEY (password PASS, CHAIN's certificates added if given) in the
# legacy encoding GnuPG's gpgsm 2.2 imports, for gpgsm-verify.sh.
#
# gpgsm 2.2.40 (Debian 12) now and then rejects such a file ("data error
# at data.oid ... error parsing or decrypting the PKCS#12 file"),
# depending on the random salt OpenSSL chose. So each file is tried with
# an import into a throwaway GNUPGHOME and made again with a new salt if
# gpgsm refuses it, up to 5 times. This only prepares the recipient's key
# for the test; what the test verifies (decryption of kipd's mail) is not
# retried. Exits non-zero, with gpgsm's last complaint, if no attempt
# imports.
set -euo pipefail

prog=${0##*/}
if [ $# -lt 4 ] || [ $# -gt 5 ]; then
	echo "usage: $prog CERT KEY PASS OUT [CHAIN]" >&2
	exit 2
fi
cert=$1 key=$2 pass=$3 out=$4 chain=${5:-}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpgsm-p12.XXXXXX")
cleanup() {
	gpgconf --homedir "$tmp/gnupg" --kill all >/dev/null 2>&1 || true
	rm -rf -- "$tmp"
}
trap cleanup EXIT

for attempt in 1 2 3 4 5; do
	openssl pkcs12 -export -legacy -certpbe NONE -keypbe PBE-SHA1-3DES \
		-in "$cert" -inkey "$key" ${chain:+-certfile "$chain"} \
		-passout "pass:$pass" -out "$out" 2>"$tmp/err" ||
		{ cat "$tmp/err" >&2; exit 1; }
	rm -rf "$tmp/gnupg"
	mkdir -m 0700 "$tmp/gnupg"
	echo allow-loopback-pinentry >"$tmp/gnupg/gpg-agent.conf"
	if printf '%s\n%s\n%s\n' "$pass" "$pass" "$pass" |
		GNUPGHOME=$tmp/gnupg gpgsm --batch --no-tty --pinentry-mode loopback \
			--disable-dirmngr --passphrase-fd 0 --import "$out" >"$tmp/err" 2>&1 &&
		grep -q "secret keys imported: 1" "$tmp/err"; then
		exit 0
	fi
	gpgconf --homedir "$tmp/gnupg" --kill all >/dev/null 2>&1 || true
	echo "$prog: attempt $attempt: gpgsm did not import $out; making it again" >&2
done
echo "$prog: gpgsm imported none of 5 attempts:" >&2
tail -5 "$tmp/err" >&2
exit 1
