#!/usr/bin/env bash
# bench/events.sh [BUILD_DIR] [N]: event catch-up after a broker outage.
# N events (default 10,000) wait in kipd's event outbox while mosquitto is
# down; the broker comes back; the figure is the time until the last one is
# acknowledged (the outbox is empty). Median of 3 runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
N=${2:-10000}
export TDIR
TDIR=$(mktemp -d /tmp/kip-bench-events.XXXXXX)
chmod 0755 "$TDIR"
. "$ROOT/tests/servers/mqtt.sh"
KIPD=$ROOT/$BUILD/kipd
KIPCTL=$ROOT/$BUILD/kipctl
export KIP_SOCKET=$TDIR/kipd.sock PKI=$TDIR/pki
KIPD_PID=""
cleanup() {
	[ -n "$KIPD_PID" ] && kill "$KIPD_PID" 2>/dev/null && wait "$KIPD_PID" 2>/dev/null
	mqtt_stop "$TDIR/mqtt" || true
	[ -n "${KIP_BENCH_KEEP:-}" ] || rm -rf "$TDIR"
}
trap cleanup EXIT
"$ROOT/certs/make-dev-certs.sh" "$PKI" >/dev/null
mqtt_start "$TDIR/mqtt"
cat >"$TDIR/kipd.conf" <<CONF
store = { path = "$TDIR/kip.db"; };
control = { socket = "$TDIR/kipd.sock"; };
log = { level = "${KIP_BENCH_LOG:-warning}"; syslog = false; };
mqtt = { host = "localhost"; port = $MQTT_PORT; ca_file = "$MQTT_CA";
  username = "$MQTT_USER"; password_file = "$MQTT_PASSWORD_FILE"; };
users = ( { user = "$(id -un)"; role = "admin"; } );
CONF
chmod 0600 "$TDIR/kipd.conf"

start_kipd() {
	"$KIPD" -f -c "$TDIR/kipd.conf" 2>>"$TDIR/kipd.log" &
	KIPD_PID=$!
	until [ -S "$KIP_SOCKET" ]; do sleep 0.01; done
}
stop_kipd() { kill "$KIPD_PID"; wait "$KIPD_PID" 2>/dev/null || true; KIPD_PID=""; }

# One real event, to copy its payload's shape.
start_kipd
"$KIPCTL" citizen add --name "Bench Borger" --cpr 010150-5123 --address "Testvej 1" --phone 1 >/dev/null
"$KIPCTL" consent give 1 --scope plan --date 2026-01-01 --document B >/dev/null
sleep 0.5
stop_kipd
payload=$(sqlite3 "$TDIR/kip.db" "SELECT payload FROM event_log e JOIN mqtt_outbox o USING (event_id) LIMIT 1" 2>/dev/null || true)
[ -n "$payload" ] || payload='{"specversion":"1.0","id":"00000000-0000-4000-8000-000000000000","source":"/kip/kipd","type":"dk.kip.consent.given","time":"2026-11-22T08:00:00Z","datacontenttype":"application/json","data":{"scope":"plan","citizen":1}}'

times=()
for run in 1 2 3; do
	mqtt_stop "$TDIR/mqtt"
	# N events queued while the broker was away (kipd stopped, so the
	# rows can be written directly; kipd treats them as its own).
	sqlite3 "$TDIR/kip.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
		INSERT INTO mqtt_outbox (event_id, topic, payload, created_at)
		SELECT printf('bench-%d-%d', $run, i), 'kip/events/consent.given', '$payload', 0 FROM n;"
	start_kipd
	sleep 0.5
	t0=$(date +%s%N)
	mqtt_start "$TDIR/mqtt"
	while [ "$(sqlite3 "$TDIR/kip.db" 'SELECT count(*) FROM mqtt_outbox')" != 0 ]; do sleep 0.02; done
	t1=$(date +%s%N)
	times+=($(((t1 - t0) / 1000000)))
	rss=$(awk '/VmHWM/ {print $2}' /proc/$KIPD_PID/status)
	stop_kipd
	echo "run $run: $N events acknowledged $(((t1 - t0) / 1000000)) ms after the broker came back (kipd VmHWM $rss kB)"
done
med=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
echo "== event catch-up: $N events, median $med ms (target < 30000 ms)"
