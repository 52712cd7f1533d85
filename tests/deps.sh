#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo need,
# when any is missing. Runs apt-get only if something is missing.
set -euo pipefail

PACKAGES=(
	gcc make pkg-config
	libconfig-dev libsqlite3-dev libjansson-dev libyaml-dev libssl-dev libcurl4-openssl-dev libmosquitto-dev
	libgmime-3.0-dev libical-dev
	openssl jq sqlite3 python3 util-linux python3-icalendar mosquitto mosquitto-clients systemd
	clang libclang-rt-dev valgrind
)

# The mail servers the integration tests start (Postfix, Dovecot, ...).
"$(dirname "$0")/servers/deps.sh"

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
