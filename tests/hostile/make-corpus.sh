#!/usr/bin/env bash
#
# make-corpus.sh PKI OUTDIR — the hostile inbound mail corpus (see README.md).
#
# Makes sure PKI is a development PKI (certs/make-dev-certs.sh, idempotent)
# with the partner certificates the corpus signs with, then writes one .eml
# per case into OUTDIR. Everything is fictional and for tests only.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: ${0##*/} PKI OUTDIR" >&2
	exit 2
fi
here=$(cd -- "$(dirname -- "$0")" && pwd)
"$here/../../certs/make-dev-certs.sh" "$1" \
	peter.psykiatri@region.example jonas.jobcenter@kommune.example \
	karen.koordinator@kommune.example >/dev/null
exec python3 "$here/make_corpus.py" "$1" "$2"
