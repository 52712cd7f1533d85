#!/usr/bin/env bash
#
# smime-verify.sh FILE RECIP_CERT RECIP_KEY CA — checks a delivered S/MIME
# message with OpenSSL: FILE (a whole mail, e.g. a Maildir file) must be
# encrypted (application/pkcs7-mime, enveloped or auth-enveloped data) to
# RECIP_CERT/RECIP_KEY, and what it decrypts to must be signed
# (multipart/signed, or opaque signed-data) by a certificate that chains
# to CA and is valid for S/MIME signing.
#
# Prints the signed content (the inner MIME entity, with its headers) on
# stdout; exits non-zero, with the reason on stderr, on any failure.
# Environment: SMIME_VERIFY_SIGNER=FILE also writes the signer's
# certificate to FILE.
set -euo pipefail

prog=${0##*/}
if [ $# -ne 4 ]; then
	echo "usage: $prog FILE RECIP_CERT RECIP_KEY CA" >&2
	exit 2
fi
file=$1 cert=$2 key=$3 ca=$4
for f in "$file" "$cert" "$key" "$ca"; do
	[ -r "$f" ] || {
		echo "$prog: cannot read $f" >&2
		exit 2
	}
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smime-verify.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

if ! openssl cms -decrypt -inform SMIME -in "$file" -recip "$cert" -inkey "$key" \
	-out "$tmp/inner" 2>"$tmp/err"; then
	echo "$prog: decryption failed:" >&2
	cat "$tmp/err" >&2
	exit 1
fi

signer=()
[ -n "${SMIME_VERIFY_SIGNER:-}" ] && signer=(-signer "$SMIME_VERIFY_SIGNER")
if ! openssl cms -verify -inform SMIME -in "$tmp/inner" -CAfile "$ca" \
	-purpose smimesign "${signer[@]}" -out "$tmp/content" 2>"$tmp/err"; then
	echo "$prog: signature verification failed:" >&2
	cat "$tmp/err" >&2
	echo "$prog: the decrypted content begins:" >&2
	head -c 600 "$tmp/inner" >&2
	exit 1
fi
cat "$tmp/content"
