#!/usr/bin/env bash
# Events over MQTT with a real mosquitto (TLS, passwords): CloudEvents
# payloads with ids only, QoS 1, a retained status with a Last Will, and
# nothing lost across a broker outage or a kill -9 of kipd.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/servers/mqtt.sh"
MQ=$TDIR/mqtt
PKI=$TDIR/pki
"$ROOT/certs/make-dev-certs.sh" "$PKI" >/dev/null
mqtt_start "$MQ" || { fail "mosquitto starts"; t_done; exit 1; }
trap 'mqtt_sub_stop; kip_stop; mqtt_stop "$MQ"; [ -n "${KIP_TEST_KEEP:-}" ] || rm -rf "$TDIR"' EXIT

KIP_EXTRA_CONF="mqtt = { host = \"localhost\"; port = $MQTT_PORT; ca_file = \"$MQTT_CA\";
  username = \"$MQTT_USER\"; password_file = \"$MQTT_PASSWORD_FILE\";
  topic_prefix = \"kip\"; client_id = \"kipd-test\"; keepalive_s = 5; };"
kip_config
SUB=$TDIR/sub.log
mqtt_sub "$MQ" "$SUB" observer
kip_start

status() {
	mosquitto_sub -h localhost -p "$MQTT_PORT" --cafile "$MQTT_CA" -u "$MQTT_SUB_USER" \
		-P "$MQTT_SUB_PASSWORD" -t kip/status -C 1 -W 3 2>/dev/null
}
pending() { sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM mqtt_outbox"; }
wait_pending_zero() {
	for _ in $(seq 1 ${1:-200}); do [ "$(pending)" = 0 ] && return 0; sleep 0.1; done
	return 1
}
sleep 0.5
check_eq "the retained status says online" "online" "$(status)"

# Activity: fictional people; the CPR number has a birth date in 2056.
K=$(kipctl --json contact add --kind professional --name "Karen Koordinator" \
	--email karen.koordinator@kommune.example | jq -r .id)
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
P=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
M=$(kipctl --json meeting schedule "$P" --start "2014-05-01 10:00" --place "Rådhuset" | jq -r .id)
kipctl meeting held "$M" >/dev/null
kipctl plan version add "$P" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null
kipctl plan approve "$P" --version 1 --how meeting --date 2014-05-01 >/dev/null
wait_pending_zero && pass "every event is acknowledged and leaves the outbox" ||
	fail "every event is acknowledged and leaves the outbox ($(pending) left)"
sleep 0.5
for t in consent.given plan.created meeting.scheduled meeting.held version.created \
	version.approved message.manual; do
	grep -q "^kip/events/$t {" "$SUB" && pass "event $t is published" || fail "event $t is published"
done
line=$(grep -m1 "^kip/events/version.approved " "$SUB" | cut -d' ' -f2-)
jq -e '.specversion == "1.0" and (.id | test("^[0-9a-f-]{36}$")) and .source == "/kip/kipd-test"
	and .type == "dk.kip.version.approved" and (.time | test("Z$")) and .data.plan == '"$P"'
	and .data.version == 1' <<<"$line" >/dev/null &&
	pass "the payload is CloudEvents with pseudonymous ids" || fail "the payload is CloudEvents with pseudonymous ids" "$line"
for s in "Bjarne" "Testesen" "290256" "Prøvevej" "karen.koordinator" "agorafobi"; do
	! grep -qF -- "$s" "$SUB" && pass "no payload contains '$s'" || fail "no payload contains '$s'"
done
dups=$(cut -d' ' -f2- "$SUB" | grep '^{' | jq -r .id | sort | uniq -d | wc -l)
check_eq "every event id is unique" "0" "$dups"

# A broker outage: events wait in the store and all arrive after.
mqtt_sub_stop
mqtt_stop "$MQ"
n0=$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM event_log")
for i in 1 2 3 4 5; do
	kipctl consent withdraw "$C" --scope plan --date 2026-11-0$i --document "Brev $i" >/dev/null
	kipctl consent give "$C" --scope plan --date 2026-11-0$i --document "J.nr. $i" >/dev/null
done
# (Each withdrawal also pauses the plan's follow-up watch, and each consent
# given again resumes it: the scheduler's events of that wait too.)
check_eq "10 consent events wait while the broker is down" "10" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM mqtt_outbox WHERE topic LIKE 'kip/events/consent.%'")"
# kill -9 with events pending: nothing is lost.
kill -9 "$KIPD_PID"; wait "$KIPD_PID" 2>/dev/null; KIPD_PID=""
log0=$(wc -l <"$TDIR/kipd.log")
kip_start
# The broker stays away until kipd's reconnect back-off has grown to its
# cap, and returns just after a failed attempt: the worst moment, when the
# waiting events wait a whole back-off interval for the next attempt. Six
# failed connections (the first and five retries) reach the cap: 17 s into
# the outage with 1, 2, 4, 5, 5 s between attempts, where the old back-off
# (1, 2, 4 ... 32 s) reached 31 s and then waited 32 s more. The bound is
# the cap with a wide margin, far below those 32 s.
failed() { tail -n "+$((log0 + 1))" "$TDIR/kipd.log" | grep -c 'mqtt: connection failed'; }
t_down=$(date +%s)
for _ in $(seq 1 900); do [ "$(failed)" -ge 6 ] && break; sleep 0.1; done
outage="outage $(($(date +%s) - t_down)) s, $(failed) failed connections"
mqtt_start "$MQ" || fail "mosquitto restarts"
t_back=$(date +%s.%N)
wait_pending_zero 600 && pass "after the outage and a kill -9 the outbox drains" ||
	fail "after the outage and a kill -9 the outbox drains ($(pending) left)"
catchup=$(awk -v a="$t_back" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "# the waiting events reached the broker $catchup s after it returned ($outage)"
awk -v t="$catchup" 'BEGIN { exit !(t < 15) }' &&
	pass "the waiting events reach the broker within 15 s of its return" ||
	fail "the waiting events reach the broker within 15 s of its return ($catchup s)"
mqtt_sub "$MQ" "$SUB" observer # the persistent session collects what it missed
sleep 1
missing=0
for id in $(sqlite3 "$TDIR/kip.db" "SELECT event_id FROM event_log"); do
	grep -q "\"id\":\"$id\"" "$SUB" || missing=$((missing + 1))
done
check_eq "events lost: 0 (every logged event reached the subscriber)" "0" "$missing"
echo "# events logged: $(sqlite3 "$TDIR/kip.db" 'SELECT count(*) FROM event_log'), before the outage: $n0"

# The Last Will: kill -9 leaves "offline" behind.
check_eq "the status is online again" "online" "$(status)"
kill -9 "$KIPD_PID"; wait "$KIPD_PID" 2>/dev/null; KIPD_PID=""
sleep 1
check_eq "after kill -9 the Last Will says offline" "offline" "$(status)"
kip_start
sleep 1
check_eq "a restarted kipd says online" "online" "$(status)"
kip_stop
sleep 0.5
check_eq "a clean stop says offline" "offline" "$(status)"

# A wrong password is refused by the broker; kipd keeps running and queues.
printf 'wrong\n' >"$TDIR/badpw"; chmod 0600 "$TDIR/badpw"
sed -i "s|password_file = \"$MQTT_PASSWORD_FILE\"|password_file = \"$TDIR/badpw\"|" "$TDIR/kipd.conf"
kip_start
kipctl consent withdraw "$C" --scope plan --date 2026-11-09 --document "Brev" >/dev/null
sleep 1
check_eq "with a wrong password events wait" "1" "$(pending)"
check_alive "kipd serves while the broker refuses it"
t_done
