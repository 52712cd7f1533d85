#!/usr/bin/env bash
# tests/servers/deps.sh — installs the Debian packages the mail and
# directory tests need (tests/servers/mail.sh, tests/servers/ldap.sh,
# tests/integration/t_servers.sh), when any is
# missing. Runs apt-get only if something is missing.
#
# The packages' own system instances are never started: postfix is
# preseeded to "No configuration", and a policy-rc.d that forbids every
# service start is in place during the install. Should a postfix or dovecot
# system instance run anyway afterwards, it is stopped, so that nothing
# listens on ports 25/143/993; the tests start their own instances on
# 127.0.0.1 and high ports, with configuration in a temporary directory.
set -euo pipefail

PACKAGES=(
	postfix dovecot-core dovecot-imapd dovecot-lmtpd python3 python3-aiosmtpd
	gpgsm gpg-agent gpgconf openssl curl swaks stunnel4 procps iproute2 util-linux
	slapd ldap-utils
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done

# stop_system_instances: the packages' own daemons, if any runs. Only the
# system instances' pid files are looked at; the tests' instances keep theirs
# in their own directories.
stop_system_instances() {
	local pid f
	for f in /var/spool/postfix/pid/master.pid /run/dovecot/master.pid /run/slapd/slapd.pid; do
		[ -r "$f" ] || continue
		pid=$(tr -dc '0-9' <"$f")
		if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then continue; fi
		echo "stopping the system instance with pid $pid ($f)"
		if [ "${f#/var/spool/postfix}" != "$f" ]; then
			$SUDO postfix stop >/dev/null 2>&1 || $SUDO kill "$pid" 2>/dev/null || true
		else
			$SUDO kill "$pid" 2>/dev/null || true
		fi
	done
}

if [ ${#missing[@]} -eq 0 ]; then
	stop_system_instances
	exit 0
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive

# Postfix: no system configuration, no questions.
echo "postfix postfix/main_mailer_type select No configuration" |
	$SUDO debconf-set-selections
echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
# slapd: no system directory (tests/servers/ldap.sh makes its own).
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections

# Forbid service starts during the install (invoke-rc.d asks policy-rc.d).
# An existing policy-rc.d is kept and put back afterwards.
POLICY=/usr/sbin/policy-rc.d
SAVED=""
if [ -e "$POLICY" ]; then
	SAVED=$(mktemp)
	$SUDO cp -p "$POLICY" "$SAVED"
fi
restore_policy() {
	if [ -n "$SAVED" ]; then
		$SUDO cp -p "$SAVED" "$POLICY"
		rm -f "$SAVED"
	else
		$SUDO rm -f "$POLICY"
	fi
}
trap restore_policy EXIT
printf '#!/bin/sh\n# kip tests/servers/deps.sh: no service starts\nexit 101\n' |
	$SUDO tee "$POLICY" >/dev/null
$SUDO chmod 0755 "$POLICY"

install_missing() {
	$SUDO apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
		"${missing[@]}" >/dev/null
}
# Update the package lists only when the install fails without.
if ! install_missing 2>/dev/null; then
	$SUDO apt-get update -qq
	install_missing
fi

stop_system_instances
