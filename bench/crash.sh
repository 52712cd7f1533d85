#!/usr/bin/env bash
# crash.sh — the crash campaign (docs/FAULTS.md): kill -9 of kipd at many
# random moments while it distributes N messages and publishes their
# events; after each kill the database is checked, at the end every message
# and every event is counted.
#
#   bench/crash.sh [N] [KILLS]        (N default 10000, KILLS default 40)
#
# Environment: BUILD (default build; absolute or relative to the checkout)
# with kipd and kipctl built; KIP_CRASH_SEED (random seed, default the
# process id), KIP_CRASH_GAP_MS (the kills come at random gaps between its
# two values, default "200 3000"), KIP_CRASH_CONNS (smtp.connections,
# default 2), KIP_CRASH_FIGURES=FILE (also writes the figures as KEY=VALUE
# lines, for tests/integration/t_crash.sh), KIP_CRASH_KEEP=1 (keeps the
# directory). Needs root, postfix's smtp-sink, stunnel4, mosquitto and its
# clients, sqlite3, jq.
#
# What runs:
#   - the SMTP server is smtp-sink behind stunnel (implicit TLS with the dev
#     PKI); it writes every transaction it accepts to a file, so the
#     Message-IDs that arrived can be counted
#   - mosquitto (tests/servers/mqtt.sh) with a subscriber on a persistent
#     QoS 1 session for the whole campaign
#   - one plan with M members and a coordinator, none with a certificate
#     (each gets a signed neutral notice); the plan is approved and then
#     distributed again until N messages are queued: one distribution is
#     M + 1 messages, M = min(199, N / 10 - 1)
#   - a driver that requests the distributions one after the other at a
#     steady pace, retrying while kipd is down, and counts how many kipd
#     acknowledged
#   - the campaign: KILLS times, after a random gap, kill -9 of kipd,
#     PRAGMA integrity_check while it is stopped, and a restart
# Then kipd runs until its outbox and event outbox are empty, and:
#   messages queued   outbox rows that go to the server (all but manual)
#   messages lost     of those, the ones whose Message-ID never arrived
#   duplicates        messages that arrived more than once (the ones in
#                     flight at a kill are sent again, same Message-ID)
#   events lost       event_log ids the subscriber never received
#   reports lost      deviation reports a partner handed over (a signed
#                     mail delivered to the function mailbox, a QoS 1
#                     publish acknowledged by the broker) that kipd never
#                     recorded
# The reports need kipctl's intake (kipctl intake run): then Postfix and
# Dovecot of tests/servers/mail.sh run too, and a second driver delivers
# signed reports from a member (Peter, with a dev certificate) to the
# function mailbox and publishes reports over MQTT as the partner system
# dp-nord, N/20 of each, asking for an intake pass after each mail. Without
# the intake the figure says so.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-10000}
KILLS=${2:-40}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
KIPD=$BUILD/kipd
KIPCTL=$BUILD/kipctl
SEED=${KIP_CRASH_SEED:-$$}
read -r GAP_MIN GAP_MAX <<<"${KIP_CRASH_GAP_MS:-200 3000}"
CONNS=${KIP_CRASH_CONNS:-2}
FIGURES=${KIP_CRASH_FIGURES:-}

die() {
	echo "crash.sh: $*" >&2
	exit 2
}
for v in N KILLS GAP_MIN GAP_MAX CONNS SEED; do
	case ${!v} in '' | *[!0-9]*) die "$v must be a non-negative integer" ;; esac
done
[ "$N" -ge 20 ] || die "N: at least 20"
[ "$GAP_MAX" -ge "$GAP_MIN" ] || die "KIP_CRASH_GAP_MS: the second value is the larger"
[ -x "$KIPD" ] && [ -x "$KIPCTL" ] || die "$KIPD or $KIPCTL missing: make BUILD=$BUILD all"
[ "$(id -u)" -eq 0 ] || die "needs root"
[ -x /usr/sbin/smtp-sink ] || die "missing /usr/sbin/smtp-sink (package postfix)"
for c in stunnel4 mosquitto mosquitto_sub sqlite3 jq; do
	command -v "$c" >/dev/null || die "missing $c"
done
RANDOM=$SEED

TDIR=$(mktemp -d "${TMPDIR:-/tmp}/kip-crash.XXXXXX")
chmod 0755 "$TDIR"
export KIP_SOCKET=$TDIR/kipd.sock PKI=$TDIR/pki
. "$ROOT/tests/servers/mail.sh" # free ports, waiting; the intake's servers
. "$ROOT/tests/servers/mqtt.sh"
INTAKE=no
case $("$KIPCTL" --help 2>&1) in *"intake run"*) INTAKE=yes ;; esac
MDIR=$TDIR/mail
[ "$INTAKE" = no ] || PKI=$MDIR/pki
DB=$TDIR/kip.db
DUMP=$TDIR/sink
MQ=$TDIR/mqtt
KIPD_PID=""
SINK_PID=""
STUNNEL_PID=""
DRIVER_PID=""
REPORTER_PID=""

stop_pid() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
cleanup() {
	set +e
	stop_pid "$DRIVER_PID"
	stop_pid "$REPORTER_PID"
	[ "$INTAKE" = no ] || mail_stop "$MDIR" >/dev/null 2>&1
	stop_pid "$KIPD_PID"
	mqtt_sub_stop
	mqtt_stop "$MQ"
	stop_pid "$STUNNEL_PID"
	stop_pid "$SINK_PID"
	if [ "${KIP_CRASH_KEEP:-0}" = 1 ]; then
		echo "crash.sh: kept $TDIR" >&2
	else
		rm -rf "$TDIR"
	fi
}
trap cleanup EXIT
log() { printf '%s crash.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
kipctl() { "$KIPCTL" "$@"; }
db() { sqlite3 "$DB" "$@"; }

kipd_start() {
	rm -f "$KIP_SOCKET"
	"$KIPD" -f -c "$TDIR/kipd.conf" 2>>"$TDIR/kipd.log" &
	KIPD_PID=$!
	for _ in $(seq 1 500); do
		[ -S "$KIP_SOCKET" ] && return 0
		kill -0 "$KIPD_PID" 2>/dev/null || break
		sleep 0.01
	done
	tail -20 "$TDIR/kipd.log" >&2
	die "kipd did not start"
}

# --- the servers -------------------------------------------------------
P_ADDR=peter.psykiatri@region.example
"$ROOT/certs/make-dev-certs.sh" "$PKI" "$P_ADDR" >"$TDIR/pki.log" 2>&1 || die "make-dev-certs.sh failed"
if [ "$INTAKE" = yes ]; then
	mail_start "$MDIR" >"$TDIR/mail-start.log" 2>&1 || { cat "$TDIR/mail-start.log" >&2; die "the mail servers did not start"; }
fi
mkdir -p "$DUMP"
chown nobody "$DUMP"
# servers_start: smtp-sink and stunnel on two ports picked as free;
# another test may take one first, so up to three tries.
servers_start() {
	local try
	for try in 1 2 3; do
		read -r SINK_PORT TLS_PORT <<<"$(_mail_free_ports 2)"
		/usr/sbin/smtp-sink -a -u nobody -d "$DUMP/%H%M%S." "127.0.0.1:$SINK_PORT" 256 \
			</dev/null >>"$TDIR/sink.log" 2>&1 &
		SINK_PID=$!
		cat >"$TDIR/stunnel.conf" <<CONF
foreground = yes
pid =
output = $TDIR/stunnel.log
[smtps]
accept = 127.0.0.1:$TLS_PORT
connect = 127.0.0.1:$SINK_PORT
cert = $PKI/server.pem
key = $PKI/server.key
sslVersionMin = TLSv1.2
CONF
		stunnel4 "$TDIR/stunnel.conf" </dev/null >/dev/null 2>&1 &
		STUNNEL_PID=$!
		if _mail_wait_port "$SINK_PORT" 5 && _mail_wait_port "$TLS_PORT" 5 &&
			kill -0 "$SINK_PID" 2>/dev/null && kill -0 "$STUNNEL_PID" 2>/dev/null; then
			return 0
		fi
		stop_pid "$SINK_PID"
		stop_pid "$STUNNEL_PID"
		SINK_PID="" STUNNEL_PID=""
	done
	return 1
}
servers_start || die "smtp-sink or stunnel did not start: $(tail -3 "$TDIR/sink.log")"
mqtt_start "$MQ" >/dev/null || die "mosquitto did not start"
SUB=$TDIR/sub.log
mqtt_sub "$MQ" "$SUB" crash-observer

cat >"$TDIR/kipd.conf" <<CONF
store = { path = "$DB"; };
control = { socket = "$KIP_SOCKET"; };
log = { level = "info"; syslog = false; };
organisation = { name = "Testkommune"; mailbox = "kip@kommune.example"; };
smtp = { url = "smtps://localhost:$TLS_PORT"; ca_file = "$PKI/ca.pem";
  retry_first_s = 1; retry_max_s = 2; timeout_s = 10; connections = $CONNS; };
smime = { cert = "$PKI/org.pem"; key = "$PKI/org.key"; ca_bundle = "$PKI/ca.pem"; };
mqtt = { host = "localhost"; port = $MQTT_PORT; ca_file = "$MQTT_CA";
  username = "$MQTT_USER"; password_file = "$MQTT_PASSWORD_FILE";
  topic_prefix = "kip"; client_id = "kipd-crash"; keepalive_s = 5;$(
	[ "$INTAKE" = no ] || printf '\n  reporters = ( { username = "%s"; contact = "%s"; } );' "$MQTT_PARTNER_USER" "$P_ADDR") };
$([ "$INTAKE" = no ] || printf 'intake = { url = "imaps://localhost:%s/INBOX"; username = "%s";\n  password_file = "%s"; ca_file = "%s"; interval_s = 5; timeout_s = 10; };' \
	"$IMAPS_PORT" "$IMAP_USER" "$IMAP_PASSWORD_FILE" "$PKI/ca.pem")
users = ( { user = "$(id -un)"; role = "admin"; } );
CONF
chmod 0600 "$TDIR/kipd.conf"

# --- the plan ----------------------------------------------------------
M=$((N / 10 - 1))
[ "$M" -le 199 ] || M=199
PER=$((M + 1))
D=$(((N + PER - 1) / PER))
log "seed $SEED: $D distributions of $PER messages, $KILLS kills $GAP_MIN-$GAP_MAX ms apart"
kipd_start
K=$(kipctl --json contact add --kind professional --name "Karen Koordinator" \
	--email karen.koordinator@kommune.example --phone "+45 70 10 20 31" | jq -r .id)
C=$(kipctl --json citizen add --name "Kasper Krasjtest" --cpr 150548-4007 \
	--address "Prøvevej 21, 9999 Testby" --phone "+45 20 20 20 24" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 9" >/dev/null
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
# Peter (with a certificate: his copy is the encrypted plan) and M - 1
# others without one.
P=$(kipctl --json contact add --kind professional --name "Peter Psykiatri" \
	--email "$P_ADDR" --cert "$PKI/${P_ADDR/@/_at_}.pem" | jq -r .id)
kipctl plan member add "$PLAN" "$P" >/dev/null
for i in $(seq -w 2 "$M"); do
	id=$(kipctl --json contact add --kind professional --name "Deltager $i" \
		--email "d$i@krasjtest.example" | jq -r .id)
	kipctl plan member add "$PLAN" "$id" >/dev/null
done
MEET=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place X | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$MEET" --file "$ROOT/tests/fixtures/bilag2.yaml" >/dev/null
# The reports concern a second, small plan (Peter and the coordinator), so
# that forwarding them adds a few messages, not a distribution each.
if [ "$INTAKE" = yes ]; then
	C2=$(kipctl --json citizen add --name "Rikke Rapporttest" --cpr 230752-4009 \
		--address "Prøvevej 23, 9999 Testby" --phone "+45 20 20 20 25" | jq -r .id)
	kipctl consent give "$C2" --scope plan --date 2026-11-01 --document "J.nr. 10" >/dev/null
	PLAN2=$(kipctl --json plan create "$C2" --basis psych-patient --coordinator "$K" | jq -r .id)
	kipctl plan member add "$PLAN2" "$P" >/dev/null
	MEET2=$(kipctl --json meeting schedule "$PLAN2" --start "2014-05-02 10:00" --place X | jq -r .id)
	kipctl plan version add "$PLAN2" --meeting "$MEET2" --file "$ROOT/tests/fixtures/bilag2.yaml" >/dev/null
	kipctl plan approve "$PLAN2" --version 1 --how meeting --date 2014-05-02 >/dev/null
fi
FIRST_ROW=$(db "SELECT coalesce(max(id), 0) FROM outbox")
FIRST_EVENT=$(db "SELECT coalesce(max(id), 0) FROM event_log")
T0=$(date +%s%N)
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null

# --- the driver: the other distributions, paced over the campaign --------
# A request that fails (kipd killed or starting) is tried again; one that
# got no reply may still have been committed, so the outbox, not this
# count, is what the figures check against.
# Distribution d is due at t0 + d * span / D (span: the expected length of
# the campaign); the driver sleeps only when it is ahead.
driver() {
	local d=1 acked=1 tries=1 t0 due now # the approval is the first
	local span_ms=$((KILLS * (GAP_MIN + GAP_MAX) / 2))
	t0=$(date +%s%3N)
	while [ "$d" -lt "$D" ]; do
		due=$((t0 + d * span_ms / D))
		now=$(date +%s%3N)
		[ "$now" -ge "$due" ] || sleep "$(((due - now) / 1000)).$(printf '%03d' $(((due - now) % 1000)))"
		tries=$((tries + 1))
		if kipctl plan distribute "$PLAN" --version 1 >/dev/null 2>>"$TDIR/driver.err"; then
			d=$((d + 1))
			acked=$((acked + 1))
		else
			sleep 0.1
		fi
	done
	echo "$acked $tries" >"$TDIR/driver.done"
}
driver &
DRIVER_PID=$!

# --- the reporter: deviation reports by mail and over MQTT ---------------
R=$((N / 20))
reporter() {
	local i mailed=0 published=0 t0 due now
	# Spread over the expected length of the campaign: report i is due at
	# t0 + i * span / R; the driver sleeps only when it is ahead.
	local span_ms=$((KILLS * (GAP_MIN + GAP_MAX) / 2))
	t0=$(date +%s%3N)
	for i in $(seq 1 "$R"); do
		sed "0,/^Message-ID:/s/^Message-ID:.*/Message-ID: <crash-report-$i@region.example>\r/" \
			"$TDIR/report.eml" >"$TDIR/report-$i.eml"
		if mail_deliver "$IMAP_USER" "$TDIR/report-$i.eml" 2>>"$TDIR/reporter.err"; then
			mailed=$((mailed + 1))
			echo "crash-report-$i@region.example" >>"$TDIR/mailed.ids"
		fi
		rm -f "$TDIR/report-$i.eml"
		if mosquitto_pub -h localhost -p "$MQTT_PORT" --cafile "$MQTT_CA" -q 1 \
			-u "$MQTT_PARTNER_USER" -P "$MQTT_PARTNER_PASSWORD" -t "kip/deviations/$MQTT_PARTNER_USER" \
			-m "{\"id\": \"crash-$i\", \"plan\": $PLAN2, \"goal\": 2, \"text\": \"Borgeren udeblev ($i).\"}" \
			2>>"$TDIR/reporter.err"; then
			published=$((published + 1))
			echo "crash-$i" >>"$TDIR/published.ids"
		fi
		kipctl intake run >/dev/null 2>&1 || true
		due=$((t0 + i * span_ms / R))
		now=$(date +%s%3N)
		[ "$now" -ge "$due" ] || sleep "$(((due - now) / 1000)).$(printf '%03d' $(((due - now) % 1000)))"
	done
	echo "$mailed $published" >"$TDIR/reporter.done"
}
: >"$TDIR/mailed.ids"
: >"$TDIR/published.ids"
if [ "$INTAKE" = yes ] && [ "$R" -gt 0 ]; then
	printf 'Mål: 2\nIndsats: 1\n\nBorgeren udeblev fra to samtaler.\n' >"$TDIR/report.txt"
	python3 "$ROOT/tests/mkmail.py" signed "$P_ADDR" "Re: Koordinerende indsatsplan - ref KIP-$PLAN2" \
		"$TDIR/report.txt" "$PKI/${P_ADDR/@/_at_}.pem" "$PKI/${P_ADDR/@/_at_}.key" \
		--message-id "crash-report-0@region.example" >"$TDIR/report.eml" || die "mkmail.py failed"
	reporter &
	REPORTER_PID=$!
fi

# --- the campaign --------------------------------------------------------
integrity_ok=0
integrity_bad=0
requeued=0
for k in $(seq 1 "$KILLS"); do
	gap=$((GAP_MIN + (RANDOM * 32768 + RANDOM) % (GAP_MAX - GAP_MIN + 1)))
	sleep "$((gap / 1000)).$(printf '%03d' $((gap % 1000)))"
	kill -9 "$KIPD_PID"
	wait "$KIPD_PID" 2>/dev/null || true
	KIPD_PID=""
	r=$(db "PRAGMA integrity_check" 2>&1)
	if [ "$r" = ok ]; then
		integrity_ok=$((integrity_ok + 1))
	else
		integrity_bad=$((integrity_bad + 1))
		log "kill $k: integrity_check: $r"
	fi
	kipd_start
	[ $((k % 10)) -ne 0 ] || log "kill $k of $KILLS; rows $(db "SELECT count(*) FROM outbox WHERE id > $FIRST_ROW"), sent $(db "SELECT count(*) FROM outbox WHERE id > $FIRST_ROW AND state = 'sent'")"
done
T_KILLS=$(date +%s%N)
wait "$DRIVER_PID"
DRIVER_PID=""
read -r ACKED TRIES <"$TDIR/driver.done"
if [ -n "$REPORTER_PID" ]; then
	wait "$REPORTER_PID"
	REPORTER_PID=""
	# Intake passes until every delivered mail is recorded (or a minute).
	want=$(grep -c . "$TDIR/mailed.ids" || true)
	for _ in $(seq 1 60); do
		kipctl intake run >/dev/null 2>&1 || true
		sleep 1
		[ "$(db "SELECT count(*) FROM deviations WHERE channel = 'mail'")" -ge "$want" ] && break
	done
fi

# --- drain and count -----------------------------------------------------
log "kills done; waiting for the outboxes to drain"
for _ in $(seq 1 3000); do
	left=$(db "SELECT (SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending', 'deferred'))
		+ (SELECT count(*) FROM mqtt_outbox)")
	[ "$left" = 0 ] && break
	sleep 0.1
done
T_DRAIN=$(date +%s%N)
sleep 2 # the last events reach the subscriber, the last files are closed
kill -TERM "$KIPD_PID"
wait "$KIPD_PID" || die "kipd did not exit cleanly at the end"
KIPD_PID=""
FINAL_INTEGRITY=$(db "PRAGMA integrity_check")
requeued=$(grep -c "were in flight at the last stop" "$TDIR/kipd.log" || true)
requeued_msgs=$(sed -n 's/.*outbox: \([0-9]*\) messages were in flight.*/\1/p' "$TDIR/kipd.log" | paste -sd+ | bc 2>/dev/null || echo 0)

SENDABLE="id > $FIRST_ROW AND recipient IS NOT NULL AND state NOT IN ('manual', 'cancelled')"
db "SELECT message_id FROM outbox WHERE $SENDABLE" | tr -d '<>' | sort >"$TDIR/queued.ids"
db "SELECT message_id FROM outbox WHERE $SENDABLE AND state = 'sent'" | tr -d '<>' | sort >"$TDIR/sent.ids"
find "$DUMP" -type f -name '[0-9]*' -print0 | xargs -0 -r grep -h -i -m1 '^Message-ID:' |
	sed 's/^[^:]*: *//' | tr -d '<>\r ' | sort >"$TDIR/arrived.ids"
Q=$(wc -l <"$TDIR/queued.ids")
SENT=$(wc -l <"$TDIR/sent.ids")
FAILED=$(db "SELECT count(*) FROM outbox WHERE $SENDABLE AND state = 'failed'")
UNSETTLED=$(db "SELECT count(*) FROM outbox WHERE state IN ('queued', 'sending', 'deferred')")
DISTINCT=$(sort -u "$TDIR/arrived.ids" | comm -12 - "$TDIR/queued.ids" | wc -l)
ARRIVED=$(grep -cxFf "$TDIR/queued.ids" "$TDIR/arrived.ids" || true)
LOST=$((Q - DISTINCT))
SENT_NOT_ARRIVED=$(sort -u "$TDIR/arrived.ids" | comm -13 - "$TDIR/sent.ids" | wc -l)
DUPS=$((ARRIVED - DISTINCT))
# One distribution: M + 1 rows of the big plan, one of them Peter's
# encrypted copy (the only plan-kind row that is sent).
DISTS=$(db "SELECT count(*) FROM outbox WHERE $SENDABLE AND kind = 'plan' AND plan_id = $PLAN")
DIST_ROWS=$(db "SELECT count(*) FROM outbox WHERE $SENDABLE AND kind IN ('notice', 'plan') AND plan_id = $PLAN")
KINDS=$(db "SELECT group_concat(kind || ' ' || n, ', ') FROM (SELECT kind, count(*) n FROM outbox WHERE $SENDABLE GROUP BY kind)")

db "SELECT event_id FROM event_log WHERE id > $FIRST_EVENT" | sort >"$TDIR/events.ids"
grep -o '"id":"[0-9a-f-]*"' "$SUB" | cut -d'"' -f4 | sort >"$TDIR/received.ids"
EVENTS=$(wc -l <"$TDIR/events.ids")
EV_LOST=$(sort -u "$TDIR/received.ids" | comm -13 - "$TDIR/events.ids" | wc -l)
EV_RECEIVED=$(grep -cxFf "$TDIR/events.ids" "$TDIR/received.ids" || true)
EV_DUPS=$((EV_RECEIVED - (EVENTS - EV_LOST)))
MQ_LEFT=$(db "SELECT count(*) FROM mqtt_outbox")
SECS_KILLS=$(((T_KILLS - T0) / 1000000000))
SECS_ALL=$(((T_DRAIN - T0) / 1000000000))
if [ "$INTAKE" = yes ]; then
	db "SELECT source_id FROM deviations WHERE channel = 'mail'" | tr -d '<>' | sort -u >"$TDIR/dev-mail.ids"
	db "SELECT source_id FROM deviations WHERE channel = 'mqtt'" | sort -u >"$TDIR/dev-mqtt.ids"
	REP_MAILED=$(sort -u "$TDIR/mailed.ids" | wc -l)
	REP_PUBLISHED=$(sort -u "$TDIR/published.ids" | wc -l)
	REP_MAIL_LOST=$(sort -u "$TDIR/mailed.ids" | comm -23 - "$TDIR/dev-mail.ids" | wc -l)
	# (An MQTT report's source may carry the reporter too: matched on the id.)
	REP_MQTT_LOST=0
	while read -r id; do
		grep -qE "(^|[^0-9A-Za-z-])$id\$" "$TDIR/dev-mqtt.ids" || REP_MQTT_LOST=$((REP_MQTT_LOST + 1))
	done < <(sort -u "$TDIR/published.ids")
	REP_LOST=$((REP_MAIL_LOST + REP_MQTT_LOST))
	REP_DUPS=$(db "SELECT count(*) - count(DISTINCT channel || source_id) FROM deviations")
	REP_QUAR=$(db "SELECT count(*) FROM quarantine")
	REPORTS="$REP_LOST (mail: $REP_MAILED delivered, $REP_MAIL_LOST lost; MQTT: $REP_PUBLISHED published, $REP_MQTT_LOST lost; recorded twice $REP_DUPS; quarantined $REP_QUAR)"
else
	REP_LOST=n/a REP_DUPS=n/a REP_QUAR=n/a REP_MAILED=0 REP_PUBLISHED=0
	REPORTS="n/a (kipctl has no intake command in this build)"
fi

cat <<FIG
== crash campaign (bench/crash.sh $N $KILLS, seed $SEED) ==
kills (kill -9)                 $KILLS, $GAP_MIN-$GAP_MAX ms apart, over ${SECS_KILLS} s
integrity_check after a kill    ok $integrity_ok, not ok $integrity_bad; at the end: $FINAL_INTEGRITY
distributions                   $DISTS in the outbox ($ACKED acknowledged, $TRIES requests), $PER messages each
messages queued                 $Q ($KINDS)
messages sent (outbox)          $SENT, failed $FAILED, unsettled $UNSETTLED
messages arrived (distinct)     $DISTINCT
messages lost                   $LOST (sent but never arrived: $SENT_NOT_ARRIVED)
duplicates                      $DUPS (restarts that re-queued messages in flight: $requeued, messages re-queued: ${requeued_msgs:-0})
events logged                   $EVENTS (left in the event outbox: $MQ_LEFT)
events lost                     $EV_LOST
event duplicates                $EV_DUPS
reports lost                    $REPORTS
time                            ${SECS_ALL} s from the approval until both outboxes were empty
FIG
if [ -n "$FIGURES" ]; then
	cat >"$FIGURES" <<FIG
kills=$KILLS
integrity_ok=$integrity_ok
integrity_bad=$integrity_bad
final_integrity=$FINAL_INTEGRITY
distributions=$DISTS
acked=$ACKED
per=$PER
dist_rows=$DIST_ROWS
queued=$Q
sent=$SENT
failed=$FAILED
unsettled=$UNSETTLED
distinct=$DISTINCT
lost=$LOST
sent_not_arrived=$SENT_NOT_ARRIVED
duplicates=$DUPS
requeued_msgs=${requeued_msgs:-0}
events=$EVENTS
events_lost=$EV_LOST
event_duplicates=$EV_DUPS
mqtt_left=$MQ_LEFT
intake=$INTAKE
reports_mailed=$REP_MAILED
reports_published=$REP_PUBLISHED
reports_lost=$REP_LOST
reports_mail_lost=${REP_MAIL_LOST:-n/a}
reports_mqtt_lost=${REP_MQTT_LOST:-n/a}
reports_twice=$REP_DUPS
reports_quarantined=$REP_QUAR
seconds=$SECS_ALL
FIG
fi
