#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo need,
# when any is missing, and brings OpenSSL up to OPENSSL_MIN when it is
# older. Runs apt-get only if something is missing or too old.
set -euo pipefail

PACKAGES=(
	gcc make pkg-config
	libconfig-dev libsqlite3-dev libjansson-dev libyaml-dev libssl-dev libcurl4-openssl-dev libmosquitto-dev
	libgmime-3.0-dev libical-dev libldap-dev
	libcairo2-dev libpango1.0-dev libqpdf-dev fonts-dejavu-core qpdf poppler-utils file
	openssl jq sqlite3 python3 util-linux python3-icalendar mosquitto mosquitto-clients systemd
	clang libclang-rt-dev valgrind clang-format
	groff-base man-db
)

# The oldest OpenSSL the tests run on: the distribution's current security
# version. A daemon that guards health data should run on a patched
# OpenSSL; and 3.0.19's CMS_verify leaks on an error path that the ASan
# build's test_inmail reaches, so make test fails on it. Raise this with
# the next Debian security update of openssl.
OPENSSL_MIN=3.0.22-1~deb12u2
OPENSSL_PACKAGES=(libssl3 openssl libssl-dev)

# The mail servers the integration tests start (Postfix, Dovecot, ...).
"$(dirname "$0")/servers/deps.sh"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
updated=0

# apt_update: apt-get update, at most once per run.
apt_update() {
	[ "$updated" -eq 1 ] && return 0
	$SUDO apt-get update -qq
	updated=1
}

# openssl_too_old: "package version" for each of OPENSSL_PACKAGES that is
# installed in a version older than OPENSSL_MIN, one a line.
openssl_too_old() {
	local p status v
	for p in "${OPENSSL_PACKAGES[@]}"; do
		while read -r _ _ status v; do
			[ "$status" = installed ] || continue
			if dpkg --compare-versions "$v" lt "$OPENSSL_MIN"; then
				echo "$p $v"
			fi
		done < <(dpkg-query -W -f='${Status} ${Version}\n' "$p" 2>/dev/null)
	done
}

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	apt_update
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

old=$(openssl_too_old)
[ -z "$old" ] && exit 0

echo "upgrading OpenSSL to $OPENSSL_MIN at least: ${old//$'\n'/, }"
if ! { apt_update &&
	$SUDO apt-get install -y -qq --only-upgrade "${OPENSSL_PACKAGES[@]}" >/dev/null; }; then
	echo "apt-get could not upgrade ${OPENSSL_PACKAGES[*]}" >&2
fi
old=$(openssl_too_old)
[ -z "$old" ] && exit 0
{
	echo "tests/deps.sh: OpenSSL is older than $OPENSSL_MIN, the distribution's security version:"
	echo "  ${old//$'\n'/$'\n'  }"
	echo "A daemon that guards health data must run on a patched OpenSSL, and"
	echo "3.0.19's CMS_verify leaks on an error path that the ASan tests reach."
	echo "apt-get offers no newer version: is the security archive"
	echo "(deb.debian.org/debian-security bookworm-security) in the apt sources?"
} >&2
exit 1
