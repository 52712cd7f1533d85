#!/usr/bin/env bash
# make demo: one realistic coordinated action plan, from consent to the
# rendered plan and the audit trail, against a real kipd on a temporary
# configuration and database. Every person here is fictional; the CPR
# number has a date of birth in 2056, so it cannot belong to anyone.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIPD=$ROOT/$BUILD/kipd
KIPCTL=$ROOT/$BUILD/kipctl
DEMO=$(mktemp -d /tmp/kip-demo.XXXXXX)
chmod 0755 "$DEMO"
export KIP_SOCKET=$DEMO/kipd.sock
KIPD_PID=""
trap '[ -n "$KIPD_PID" ] && kill "$KIPD_PID" 2>/dev/null; wait 2>/dev/null; true' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
run() { printf '   $ kipctl %s\n' "$*"; "$KIPCTL" "$@" | sed 's/^/     /'; }
# Karen, the coordinator, is the OS user "daemon" here (as root we can act
# as her); otherwise everything runs as the invoking user, an admin.
if [ "$(id -u)" -eq 0 ]; then
	getent group kipdemo >/dev/null || groupadd -r kipdemo
	COORD_USER=daemon
	karen() {
		printf '   karen$ kipctl %s\n' "$*"
		setpriv --reuid="$(id -u daemon)" --regid="$(id -g daemon)" \
			--groups="$(getent group kipdemo | cut -d: -f3)" "$KIPCTL" "$@" | sed 's/^/     /'
	}
	karen_q() { setpriv --reuid="$(id -u daemon)" --regid="$(id -g daemon)" \
		--groups="$(getent group kipdemo | cut -d: -f3)" "$KIPCTL" "$@"; }
	GROUP_LINE='group = "kipdemo";'
else
	COORD_USER=$(id -un)
	karen() { run "$@"; }
	karen_q() { "$KIPCTL" "$@"; }
	GROUP_LINE=""
fi
refused() {
	printf '   karen$ kipctl %s\n' "$*"
	if out=$(karen_q "$@" 2>&1); then
		echo "     UNEXPECTED: accepted"; exit 1
	fi
	printf '     refused: %s\n' "${out#kipctl: }"
}

step "Setting up: a development PKI and a private configuration in $DEMO"
"$ROOT/certs/make-dev-certs.sh" "$DEMO/pki" >/dev/null
cat >"$DEMO/kipd.conf" <<CONF
store = { path = "$DEMO/kip.db"; };
control = { socket = "$DEMO/kipd.sock"; $GROUP_LINE };
log = { level = "info"; syslog = false; };
organisation = { name = "Testkommune, Socialpsykiatri"; mailbox = "kip@kommune.example"; phone = "+45 70 10 20 30"; };
users = (
  { user = "$(id -un)"; role = "admin"; }$( [ "$COORD_USER" != "$(id -un)" ] && printf ',\n  { user = "%s"; role = "coordinator"; contact = "karen.koordinator@kommune.example"; }' "$COORD_USER")
);
CONF
chmod 0600 "$DEMO/kipd.conf"
"$KIPD" --check-config -c "$DEMO/kipd.conf" | sed 's/^/   /'
start=$(date +%s%N)
"$KIPD" -f -c "$DEMO/kipd.conf" 2>"$DEMO/kipd.log" &
KIPD_PID=$!
until [ -S "$KIP_SOCKET" ]; do sleep 0.005; done
say "kipd is ready after $((($(date +%s%N) - start) / 1000000)) ms (pid $KIPD_PID)"

step "1. The network: professionals with their S/MIME certificates"
PKI=$DEMO/pki
run contact add --kind professional --name "Karen Koordinator" --title Koordinator \
	--organisation "Testkommune, Socialpsykiatri" --email karen.koordinator@kommune.example \
	--phone "+45 70 10 20 31" --cert "$PKI/karen.koordinator_at_kommune.example.pem"
run contact add --kind professional --name "Peter Psykiatri" --title Overlæge \
	--organisation "Region Test, Distriktspsykiatrien" --email peter.psykiatri@region.example \
	--phone "+45 70 10 20 32" --cert "$PKI/peter.psykiatri_at_region.example.pem"
run contact add --kind professional --name "Jonas Job" --title "Koordinerende sagsbehandler" \
	--organisation "Testkommune, Jobcenter" --email jonas.job@jobcenter.example \
	--phone "+45 70 10 20 33" --cert "$PKI/jonas.job_at_jobcenter.example.pem"
say "A certificate that has expired is refused:"
printf '   $ kipctl contact add ... --cert expired.pem\n'
"$KIPCTL" contact add --kind professional --name "Udløbet Certifikat" \
	--email expired@region.example --cert "$PKI/expired.pem" 2>&1 | sed 's/^kipctl: /     refused: /' || true

step "2. The citizen (fictional; CPR with a date of birth in 2056)"
karen citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20"
say "No plan may be made before the citizen consents:"
refused plan create 1 --basis psych-patient,substance-need
karen consent give 1 --scope plan --date "$(date +%F)" --document "Samtykkeerklæring J.nr. 2026-4711"
karen consent give 1 --scope relatives --date "$(date +%F)" --document "Samtykkeerklæring J.nr. 2026-4711"
karen contact add --kind relative --name "Lise Testesen" --citizen 1 --phone "+45 30 30 30 30"

step "3. The plan, its members, and the coordination meeting"
say "At least one of the first two basis flags is required:"
refused plan create 1 --basis psych-need
karen plan create 1 --basis psych-patient,substance-need
karen plan member add 1 2
karen plan member add 1 3
karen plan member add 1 4
MEETING_DAY=$(date -d yesterday +%F)
karen meeting schedule 1 --start "$MEETING_DAY 10:00" --duration 90 \
	--place "Rådhuset, mødelokale 2" --phone "+45 70 10 20 30"
karen meeting attendance 1 --present 1,3,4 --apologies 2 --citizen present
karen meeting held 1

step "4. The plan document (Bilag 2 of the national guideline) becomes version 1"
FOLLOW=$(date -d "$MEETING_DAY + 5 months" +%F)
sed "s/^follow_up: .*/follow_up: $FOLLOW/" "$ROOT/tests/fixtures/bilag2.yaml" >"$DEMO/plan.yaml"
sed "s/^follow_up: .*/follow_up: $(date -d "$MEETING_DAY + 7 months" +%F)/" \
	"$ROOT/tests/fixtures/bilag2.yaml" >"$DEMO/late.yaml"
say "A follow-up more than six months after the meeting is refused:"
chmod 0644 "$DEMO/late.yaml" "$DEMO/plan.yaml" # Karen's editor wrote them
refused plan version add 1 --file "$DEMO/late.yaml"
karen plan version add 1 --file "$DEMO/plan.yaml"
say "The citizen approves it at the meeting; it is ready for distribution to"
say "every member, Peter too, who sent apologies:"
karen plan approve 1 --version 1 --how meeting --date "$MEETING_DAY"

step "5. The rendered plan, as every member will receive it (first 45 lines)"
"$KIPCTL" plan render 1 | head -45 | sed 's/^/   | /'
"$KIPCTL" plan render 1 --format html >"$DEMO/plan.html"
say "(HTML version: $DEMO/plan.html, $(wc -c <"$DEMO/plan.html") bytes, no remote content)"

step "6. An update: the job centre's timeline changes; version 2 and the diff"
sed 's/Koordinerende sagsbehandler deltager i netværksmøde/Koordinerende sagsbehandler holder første samtale inden 14 dage og deltager i netværksmøde/' \
	"$DEMO/plan.yaml" >"$DEMO/plan2.yaml"
chmod 0644 "$DEMO/plan2.yaml"
karen plan version add 1 --file "$DEMO/plan2.yaml"
karen plan diff 1 --from 1 --to 2
karen plan approve 1 --version 2 --how phone
karen meeting schedule 1 --start "$FOLLOW 10:00" --place "Rådhuset, mødelokale 2"
karen plan show 1

step "7. The audit trail the citizen may ask for (newest first)"
"$KIPCTL" audit --citizen 1 --limit 12 | sed 's/^/   /'

step "8. What the log holds: ids only"
kill -TERM "$KIPD_PID"; wait "$KIPD_PID" || true; KIPD_PID=""
tail -5 "$DEMO/kipd.log" | sed 's/^/   /'
n=$(grep -cE "Bjarne|Testesen|290256|Prøvevej|karen\.koordinator@" "$DEMO/kipd.log" || true)
say "lines in the log with the citizen's name, CPR, address or an e-mail address: $n"
say "database: $DEMO/kip.db ($(stat -c %s "$DEMO/kip.db") bytes, mode $(stat -c %a "$DEMO/kip.db")); kept for inspection"
