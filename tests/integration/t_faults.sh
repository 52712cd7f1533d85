#!/usr/bin/env bash
# Fault injection (docs/FAULTS.md): an SMTP server that drops the
# connection after DATA (and one that drops after the final dot), 4xx for a
# long time then recovery, 5xx, a broker killed while events flow, the
# database on a full disk, and allocations failing inside kipd. For each:
# what kipd does, what the user sees, and a count proving that nothing
# acknowledged was lost.
#
# The SMTP server is Postfix's smtp-sink (each fault one set of options,
# restarted on the same port) behind stunnel (implicit TLS), capturing
# every transaction to a file, so the messages at the server can be counted
# by Message-ID. KIP_FAULTS_DISK=ulimit forces the RLIMIT_FSIZE variant of
# the full disk; KIP_FAULTS_SWEEP=1 runs the allocation sweep over every
# position instead of a sample.
case ${BUILD:-build} in
/*) export KIPD=${KIPD:-$BUILD/kipd} KIPCTL=${KIPCTL:-$BUILD/kipctl} ;;
esac
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/servers/mail.sh" # helpers only: free ports, waiting
. "$ROOT/tests/servers/mqtt.sh"
case $BUILD in /*) BDIR=$BUILD ;; *) BDIR=$ROOT/$BUILD ;; esac
N=${KIP_FAULTS_MEMBERS:-40}

PKI=$TDIR/pki
"$ROOT/certs/make-dev-certs.sh" "$PKI" >"$TDIR/pki.log" 2>&1 ||
	{ fail "the development PKI is made" "$(tail "$TDIR/pki.log")"; t_done; exit 1; }
DUMP=$TDIR/sink
mkdir -p "$DUMP"
chown nobody "$DUMP"
read -r SINK_PORT TLS_PORT < <(_mail_free_ports 2)
SINK_PID=""
STUNNEL_PID=""
SMALL=""
MQ=$TDIR/mqtt

sink_stop() {
	[ -n "$SINK_PID" ] || return 0
	kill "$SINK_PID" 2>/dev/null
	wait "$SINK_PID" 2>/dev/null
	SINK_PID=""
}
# sink_start [SMTP-SINK OPTION...]: smtp-sink on SINK_PORT with the fault's
# options, each transaction captured as one file in DUMP.
sink_start() {
	sink_stop
	/usr/sbin/smtp-sink -a -u nobody -d "$DUMP/%H%M%S." "$@" \
		"127.0.0.1:$SINK_PORT" 64 </dev/null >>"$TDIR/sink.log" 2>&1 &
	SINK_PID=$!
	_mail_wait_port "$SINK_PORT" 5
}
cleanup() {
	mqtt_sub_stop
	kip_stop
	sink_stop
	[ -n "$STUNNEL_PID" ] && kill "$STUNNEL_PID" 2>/dev/null && wait "$STUNNEL_PID" 2>/dev/null
	[ -f "$MQ/mosquitto.pid" ] && mqtt_stop "$MQ"
	[ -n "$SMALL" ] && mountpoint -q "$SMALL" && umount "$SMALL"
	rm -rf "$TDIR"
}
trap cleanup EXIT

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
# (Another test may take a port picked as free: then new ones.)
for try in 1 2 3; do
	sed -i "s/^accept = .*/accept = 127.0.0.1:$TLS_PORT/; s/^connect = .*/connect = 127.0.0.1:$SINK_PORT/" "$TDIR/stunnel.conf"
	stunnel4 "$TDIR/stunnel.conf" </dev/null >/dev/null 2>&1 &
	STUNNEL_PID=$!
	sink_start && _mail_wait_port "$TLS_PORT" 5 && kill -0 "$STUNNEL_PID" 2>/dev/null && break
	sink_stop
	kill "$STUNNEL_PID" 2>/dev/null && wait "$STUNNEL_PID" 2>/dev/null
	STUNNEL_PID=""
	read -r SINK_PORT TLS_PORT < <(_mail_free_ports 2)
done
[ -n "$STUNNEL_PID" ] ||
	{ fail "smtp-sink and stunnel listen" "$(cat "$TDIR/sink.log" "$TDIR/stunnel.log" 2>/dev/null)"; t_done; exit 1; }

SMTP_CONF="smtp = { url = \"smtps://localhost:$TLS_PORT\"; ca_file = \"$PKI/ca.pem\";
  retry_first_s = 1; retry_max_s = 1; timeout_s = 5; connections = 2; };
smime = { cert = \"$PKI/org.pem\"; key = \"$PKI/org.key\"; ca_bundle = \"$PKI/ca.pem\"; };"
KIP_EXTRA_CONF=$SMTP_CONF kip_config
kip_start

db() { sqlite3 "$TDIR/kip.db" "$@"; }
# The Message-IDs the server accepted or received whole, one a line,
# without the angle brackets (as the outbox stores them).
sink_ids() {
	find "$DUMP" -type f -name '[0-9]*' -print0 | xargs -0 -r grep -h -i -m1 '^Message-ID:' |
		sed 's/^[^:]*: *//' | tr -d '<>\r ' | sort
}
# wait_for SECONDS CMD...: until CMD succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}
# Rows that go to the SMTP server (not those for manual delivery).
SENDABLE="recipient IS NOT NULL AND state NOT IN ('manual', 'cancelled')"
min_attempts() { db "SELECT coalesce(min(attempts), 0) FROM outbox WHERE id > $1 AND $SENDABLE"; }
attempted() { [ "$(min_attempts "$1")" -ge "$2" ]; } # FROM N: each row of the batch N times
# Rows of a batch (id > FROM) not yet in a final state.
unsettled() { db "SELECT count(*) FROM outbox WHERE id > $1 AND state IN ('queued', 'sending', 'deferred')"; }
settled() { [ "$(unsettled "$1")" = 0 ]; }

# A plan with N members and a coordinator, none with a certificate: each
# gets a signed neutral notice (the same path as every other message).
K=$(kipctl --json contact add --kind professional --name "Karen Koordinator" \
	--email karen.koordinator@kommune.example --phone "+45 70 10 20 31" | jq -r .id)
C=$(kipctl --json citizen add --name "Frida Fejltest" --cpr 120345-4001 \
	--address "Prøvevej 11, 9999 Testby" --phone "+45 20 20 20 22" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 6" >/dev/null
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
# Peter reports deviations over MQTT in section 4 (as dp-nord).
PETER=$(kipctl --json contact add --kind professional --name "Peter Psykiatri" \
	--email peter.psykiatri@region.example | jq -r .id)
kipctl plan member add "$PLAN" "$PETER" >/dev/null
add_members "$PLAN" 2 "$N" Deltager d fejltest.example
M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place X | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null

# The counts of one batch of messages (rows above FROM), once settled:
# queued = rows that went to SMTP, sent, failed, and at the server the
# distinct Message-IDs of the batch and the duplicates among them.
batch_figures() {
	local from=$1 ids all
	ids=$(db "SELECT message_id FROM outbox WHERE id > $from AND $SENDABLE" | tr -d '<>' | sort)
	all=$(sink_ids)
	B_QUEUED=$(grep -c . <<<"$ids")
	B_SENT=$(db "SELECT count(*) FROM outbox WHERE id > $from AND state = 'sent'")
	B_FAILED=$(db "SELECT count(*) FROM outbox WHERE id > $from AND state = 'failed'")
	B_DISTINCT=$(sort -u <<<"$all" | comm -12 - <(echo "$ids") | grep -c .)
	B_TOTAL=$(grep -cxFf <(echo "$ids") <<<"$all")
	B_DUPS=$((B_TOTAL - B_DISTINCT))
}

# ---------------------------------------------------------------------
# 1. The server drops the connection after DATA, then behaves.
echo "# 1. SMTP server drops the connection after DATA"
sink_start -q DATA
FROM1=$(db "SELECT coalesce(max(id), 0) FROM outbox")
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null
Q1=$(db "SELECT count(*) FROM outbox WHERE id > $FROM1 AND $SENDABLE")
check_eq "approval queues one notice per member and the coordinator" "$((N + 1))" "$Q1"
wait_for 15 attempted "$FROM1" 2 &&
	pass "every message is attempted at least twice while the server drops" ||
	fail "every message is attempted at least twice while the server drops" "$(min_attempts "$FROM1")"
check_eq "nothing is sent while the server drops after DATA" "0" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM1 AND state IN ('sent', 'failed')")"
st=$(kipctl plan status "$PLAN")
grep -q "deferred" <<<"$st" && pass "plan status shows the messages as deferred" ||
	fail "plan status shows the messages as deferred" "$st"
echo "# what the user sees: $(grep -m1 "notice.*deferred" <<<"$st" | tr -s ' ')"
check_eq "the server received no message text" "" "$(sink_ids)"
sink_start
wait_for 30 settled "$FROM1" && pass "after recovery every message settles" ||
	fail "after recovery every message settles" "$(unsettled "$FROM1") left"
batch_figures "$FROM1"
echo "# drop after DATA: queued $B_QUEUED, sent $B_SENT, failed $B_FAILED, at the server $B_DISTINCT distinct, $B_DUPS duplicates"
check_eq "drop after DATA: sent == queued" "$B_QUEUED" "$B_SENT"
check_eq "drop after DATA: messages lost 0 (distinct Message-IDs at the server)" "$B_QUEUED" "$B_DISTINCT"
check_eq "drop after DATA: no duplicates (nothing reached the server before recovery)" "0" "$B_DUPS"

# 1b. The server takes the whole message and drops the connection before
# its reply: kipd cannot know it arrived, so it sends it again. Those
# attempts are exactly the duplicates; the Message-ID stays the same.
echo "# 1b. SMTP server drops the connection after the final dot"
sink_start -q .
FROM1B=$(db "SELECT coalesce(max(id), 0) FROM outbox")
kipctl plan distribute "$PLAN" --version 1 >/dev/null
wait_for 15 attempted "$FROM1B" 1 &&
	pass "every message is attempted while the server drops after the dot" ||
	fail "every message is attempted while the server drops after the dot" "$(min_attempts "$FROM1B")"
sink_start
wait_for 30 settled "$FROM1B" && pass "after recovery every message settles" ||
	fail "after recovery every message settles (drop after dot)" "$(unsettled "$FROM1B") left"
batch_figures "$FROM1B"
unanswered=$(db "SELECT sum(attempts - 1) FROM outbox WHERE id > $FROM1B AND state = 'sent'")
echo "# drop after dot: queued $B_QUEUED, sent $B_SENT, at the server $B_DISTINCT distinct, $B_DUPS duplicates, unanswered attempts $unanswered"
check_eq "drop after dot: sent == queued" "$B_QUEUED" "$B_SENT"
check_eq "drop after dot: messages lost 0" "$B_QUEUED" "$B_DISTINCT"
[ "$B_DUPS" -le "$unanswered" ] && pass "drop after dot: duplicates ($B_DUPS) are at most the unanswered attempts ($unanswered)" ||
	fail "drop after dot: duplicates ($B_DUPS) are at most the unanswered attempts ($unanswered)"

# ---------------------------------------------------------------------
# 2. 4xx for a long time (a retry every second), then recovery.
echo "# 2. SMTP server answers 4xx for a long time"
sink_start -r MAIL -b "451 4.3.0 Try again later"
FROM2=$(db "SELECT coalesce(max(id), 0) FROM outbox")
kipctl plan distribute "$PLAN" --version 1 >/dev/null
RETRIES=${KIP_FAULTS_RETRIES:-8}
wait_for 40 attempted "$FROM2" "$RETRIES" &&
	pass "4xx: every message is tried at least $RETRIES times" ||
	fail "4xx: every message is tried at least $RETRIES times" \
		"$(db "SELECT min(attempts), max(attempts) FROM outbox WHERE id > $FROM2 AND $SENDABLE")"
check_eq "4xx: none sent, none failed during the 4xx period" "0" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM2 AND state IN ('sent', 'failed')")"
reply=$(kipctl --json plan status "$PLAN" | jq -r '[.messages[] | select(.state == "deferred") | .last_reply] | first')
grep -q "451" <<<"$reply" && pass "4xx: plan status shows the 451 reply" || fail "4xx: plan status shows the 451 reply" "$reply"
echo "# what the user sees: deferred, last reply: $reply"
tries=$(db "SELECT sum(attempts) FROM outbox WHERE id > $FROM2")
sink_start
wait_for 30 settled "$FROM2" && pass "4xx: after recovery every message settles" ||
	fail "4xx: after recovery every message settles" "$(unsettled "$FROM2") left"
batch_figures "$FROM2"
echo "# 4xx: queued $B_QUEUED, attempts during 4xx $tries, sent $B_SENT, failed $B_FAILED, at the server $B_DISTINCT distinct, $B_DUPS duplicates"
check_eq "4xx: all delivered (sent == queued)" "$B_QUEUED" "$B_SENT"
check_eq "4xx: none failed" "0" "$B_FAILED"
check_eq "4xx: messages lost 0" "$B_QUEUED" "$B_DISTINCT"
check_eq "4xx: no duplicates" "0" "$B_DUPS"

# ---------------------------------------------------------------------
# 3. 5xx: failed at once with the reason, the coordinator told, no retry.
echo "# 3. SMTP server answers 5xx"
sink_start -f RCPT -B "550 5.1.1 Mailbox unavailable"
sleep 1 # kipd notices that its idle connections were closed
FROM3=$(db "SELECT coalesce(max(id), 0) FROM outbox")
kipctl plan distribute "$PLAN" --version 1 >/dev/null
Q3=$(db "SELECT count(*) FROM outbox WHERE id > $FROM3 AND recipient IS NOT NULL AND kind = 'notice'")
wait_for 20 settled "$FROM3" && pass "5xx: every message settles at once" ||
	fail "5xx: every message settles at once" "$(unsettled "$FROM3") left"
a0=$(db "SELECT sum(attempts) FROM outbox WHERE id > $FROM3")
sleep 2.5 # more than two retry periods: nothing may be tried again
check_eq "5xx: every message failed" "$Q3" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM3 AND kind = 'notice' AND state = 'failed'")"
check_eq "5xx: nothing is tried again after the 5xx" "$a0" "$(db "SELECT sum(attempts) FROM outbox WHERE id > $FROM3")"
# (A message may need two attempts when its first went out on a connection
# that the server's restart had just closed: a temporary failure.)
check_eq "5xx: each failed at its first reply from the server" "0" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM3 AND state = 'failed' AND attempts > 2")"
echo "# 5xx: attempts per failed message: $(db "SELECT group_concat(n || ' x ' || attempts, ', ') FROM (SELECT attempts, count(*) n FROM outbox WHERE id > $FROM3 AND $SENDABLE GROUP BY attempts)")"
check_eq "5xx: the reason is recorded" "1" \
	"$(db "SELECT count(DISTINCT last_reply) FROM outbox WHERE id > $FROM3 AND kind = 'notice' AND last_reply LIKE '%550%'")"
check_eq "5xx: one failure notice per failed message is queued for the coordinator" "$Q3" \
	"$(db "SELECT count(*) FROM outbox WHERE id > $FROM3 AND kind = 'failure' AND contact_id = $K")"
check_eq "5xx: a failed failure notice makes no further notice" "0" \
	"$(db "SELECT count(*) FROM outbox o WHERE id > $FROM3 AND kind = 'failure' AND state NOT IN ('failed', 'sent')")"
st=$(kipctl --json plan status "$PLAN")
jq -e '[.messages[] | select(.state == "failed" and (.last_reply | test("550")))] | length > 0' <<<"$st" >/dev/null &&
	pass "5xx: plan status shows failed with the 550 reply" || fail "5xx: plan status shows failed with the 550 reply"
st=$(kipctl plan status "$PLAN")
echo "# what the user sees: $(grep failed <<<"$st" | head -1 | tr -s ' ')"
grep -qE "outbox: message [0-9]+ failed \(attempt 1, smtp 550\)" "$TDIR/kipd.log" &&
	pass "5xx: the log says failed, with ids and the code only" || fail "5xx: the log says failed, with ids and the code only"
batch_figures "$FROM3"
echo "# 5xx: queued $((B_QUEUED)), failed $B_FAILED (notices $Q3 + failure notices $((B_FAILED - Q3))), sent $B_SENT, at the server $B_DISTINCT"
check_eq "5xx: the server kept nothing" "0" "$B_DISTINCT"
sink_start
check_alive "kipd serves after the SMTP faults"
kip_stop
check_eq "the database is intact after the SMTP faults" "ok" "$(db 'PRAGMA integrity_check')"

# ---------------------------------------------------------------------
# 4. The broker is killed (SIGKILL) while events flow, and comes back.
echo "# 4. MQTT broker killed while events flow"
mqtt_start "$MQ" || fail "mosquitto starts"
KIP_EXTRA_CONF="$SMTP_CONF
mqtt = { host = \"localhost\"; port = $MQTT_PORT; ca_file = \"$MQTT_CA\";
  username = \"$MQTT_USER\"; password_file = \"$MQTT_PASSWORD_FILE\";
  topic_prefix = \"kip\"; client_id = \"kipd-faults\"; keepalive_s = 5;
  reporters = ( { username = \"$MQTT_PARTNER_USER\"; contact = \"peter.psykiatri@region.example\"; } ); };" kip_config
SUB=$TDIR/sub.log
mqtt_sub "$MQ" "$SUB" faults-observer
kip_start
E0=$(db "SELECT coalesce(max(id), 0) FROM event_log")
C2=$(kipctl --json citizen add --name "Erik Eventtest" --cpr 010250-4003 \
	--address "Prøvevej 13, 9999 Testby" --phone "+45 20 20 20 23" | jq -r .id)
# Events at a steady pace: consent given and withdrawn, one event each.
flow() {
	local i=0 ok=0
	while [ ! -e "$TDIR/flow.stop" ]; do
		i=$((i + 1))
		kipctl consent give "$C2" --scope plan --date 2026-11-02 --document "F$i" >/dev/null 2>>"$TDIR/flow.err" &&
			ok=$((ok + 1))
		kipctl consent withdraw "$C2" --scope plan --date 2026-11-03 --document "W$i" >/dev/null 2>>"$TDIR/flow.err" &&
			ok=$((ok + 1))
		sleep 0.02
	done
	echo "$ok" >"$TDIR/flow.acked"
}
flow &
FLOW=$!
sleep 1.5
MQ_PID=$(cat "$MQ/mosquitto.pid")
kill -9 "$MQ_PID"
wait "$MQ_PID" 2>/dev/null
rm -f "$MQ/mosquitto.pid"
mqtt_sub_stop
DOWN0=$(db "SELECT max(id) FROM event_log")
sleep 2
waiting=$(db "SELECT count(*) FROM mqtt_outbox")
DOWN1=$(db "SELECT max(id) FROM event_log")
[ "$waiting" -gt 0 ] && pass "events wait in the store while the broker is gone ($waiting)" ||
	fail "events wait in the store while the broker is gone"
check_alive "kipd serves while the broker is gone"
mqtt_start "$MQ" || fail "mosquitto comes back"
mqtt_sub "$MQ" "$SUB" faults-observer
sleep 1.5
: >"$TDIR/flow.stop"
wait "$FLOW"
pending() { [ "$(db "SELECT count(*) FROM mqtt_outbox")" = 0 ]; }
wait_for 20 pending && pass "the event outbox drains after the broker returns" ||
	fail "the event outbox drains after the broker returns" "$(db 'SELECT count(*) FROM mqtt_outbox') left"
sleep 1
logged=$(db "SELECT event_id FROM event_log WHERE id > $E0" | sort)
got=$(grep -o '"id":"[0-9a-f-]*"' "$SUB" | cut -d'"' -f4 | sort)
missing=$(comm -23 <(echo "$logged") <(sort -u <<<"$got") | grep -c . || true)
nlogged=$(grep -c . <<<"$logged")
dups=$(($(comm -12 <(echo "$logged") <(echo "$got") | grep -c .) - (nlogged - missing)))
echo "# broker killed: $nlogged events (acknowledged requests $(cat "$TDIR/flow.acked")), $((DOWN1 - DOWN0)) logged while the broker was down, lost $missing, duplicates $dups"
check_eq "broker killed: events lost 0" "0" "$missing"

# 4b. Deviation reports over MQTT (QoS 1) and kill -9 of kipd. Published
# while kipd is down, the broker keeps a report for kipd's persistent
# session. Killed just after the broker delivered one: libmosquitto sends
# the PUBACK before it calls on_message, so kipd first commits the payload
# to its inbox on its own and judges it after (intake.c); only a kill in
# the milliseconds before that commit can lose it. Asserted on the normal
# build; under the sanitizers (several times slower) the loss is measured
# and shown. KIP_FAULTS_STRICT_REPORTS=0/1 overrides.
report() {
	mosquitto_pub -h localhost -p "$MQTT_PORT" --cafile "$MQTT_CA" -q 1 -u "$MQTT_PARTNER_USER" \
		-P "$MQTT_PARTNER_PASSWORD" -t "kip/deviations/$MQTT_PARTNER_USER" \
		-m "{\"id\": \"$1\", \"plan\": $PLAN, \"goal\": 2, \"text\": \"Borgeren udeblev.\"}"
}
recorded() { db "SELECT count(*) FROM deviations WHERE channel = 'mqtt' AND source_id = '$MQTT_PARTNER_USER:$1'"; }
is_recorded() { [ "$(recorded "$1")" = 1 ]; }
kill9() { kill -9 "$KIPD_PID"; wait "$KIPD_PID" 2>/dev/null; KIPD_PID=""; }
PROBES=${KIP_FAULTS_REPORT_PROBES:-3}
down_ok=0 kill_lost=0
for i in $(seq 1 "$PROBES"); do
	kill9
	report "down-$i" || fail "the broker takes report down-$i"
	kip_start
	wait_for 5 is_recorded "down-$i" && down_ok=$((down_ok + 1))
	report "kill-$i" || fail "the broker takes report kill-$i"
	sleep 0.02
	kill9
	kip_start
	sleep 1.5
	is_recorded "kill-$i" || kill_lost=$((kill_lost + 1))
done
[ "$down_ok" = "$PROBES" ] && pass "reports published while kipd is down are all recorded after its restart" ||
	fail "reports published while kipd is down are all recorded after its restart ($down_ok of $PROBES)" \
		"$(db "SELECT channel, reason, source_id, detail FROM quarantine ORDER BY id DESC LIMIT 3"; grep -i "intake\|deviation\|mqtt" "$TDIR/kipd.log" | tail -8)"
echo "# reports over MQTT: kipd killed 20 ms after the broker took each: $kill_lost of $PROBES lost"
case $BUILD in *san*) strict_default=0 ;; *) strict_default=1 ;; esac
if [ "${KIP_FAULTS_STRICT_REPORTS:-$strict_default}" = 1 ]; then
	check_eq "a report delivered just before kill -9 is not lost" "0" "$kill_lost"
elif [ "$kill_lost" -gt 0 ]; then
	echo "# measured, not counted (sanitizer build): a kill within the inbox commit after the PUBACK loses the report (docs/FAULTS.md)"
fi
kip_stop
mqtt_sub_stop
mqtt_stop "$MQ"

# ---------------------------------------------------------------------
# 5. The database on a full disk.
echo "# 5. full disk"
FULL_DB=$TDIR/full/kip.db
SMALL=$TDIR/full
mkdir -p "$SMALL"
DISK=${KIP_FAULTS_DISK:-tmpfs}
if [ "$DISK" = tmpfs ] && ! mount -t tmpfs -o size=3m,mode=0700 kipfull "$SMALL" 2>"$TDIR/mount.err"; then
	echo "# note: cannot mount a tmpfs ($(head -1 "$TDIR/mount.err")); using RLIMIT_FSIZE"
	DISK=ulimit
fi
[ "$DISK" = tmpfs ] || SMALL_UNMOUNTED=1
echo "# full disk variant: $DISK"
kip_config
sed -i "s|path = \"$TDIR/kip.db\"|path = \"$FULL_DB\"|" "$TDIR/kipd.conf"
fdb() { sqlite3 "$FULL_DB" "$@"; }
kip_start
ACKED=()
add_contact() { kipctl --json contact add --kind professional --name "Disk $1" --email "disk$1@fuld.example"; }
for i in $(seq 1 20); do ACKED+=("$(add_contact "a$i" | jq -r .id)"); done
kip_stop
if [ "$DISK" = tmpfs ]; then
	kip_start
	# Fill what is left (dd stops at ENOSPC).
	dd if=/dev/zero of="$SMALL/filler" bs=16k 2>/dev/null
else
	# The files may grow by no more than a little above their size now:
	# kipd runs with SIGXFSZ ignored, so a write past it fails (EFBIG).
	limit=$(($(du -k "$FULL_DB" | cut -f1) + 64))
	cat >"$TDIR/kipd-fsize" <<W
#!/bin/bash
trap '' XFSZ
ulimit -f $((limit * 2))
exec "$KIPD" "\$@"
W
	chmod +x "$TDIR/kipd-fsize"
	KIPD=$TDIR/kipd-fsize kip_start
fi
refused=0 ok_full=0 msg=""
for i in $(seq 1 200); do
	if out=$(add_contact "f$i" 2>&1); then
		ACKED+=("$(jq -r .id <<<"$out")")
		ok_full=$((ok_full + 1))
	else
		refused=$((refused + 1))
		[ -n "$msg" ] || msg=$out
	fi
	[ "$refused" -ge 5 ] && break
done
echo "# while full: $ok_full writes still fit (acknowledged), $refused refused; the user sees: $msg"
[ "$refused" -ge 5 ] && pass "writes are refused while the disk is full" || fail "writes are refused while the disk is full"
if [ "$DISK" = tmpfs ]; then
	grep -q "disk is full; nothing was changed" <<<"$msg" && pass "the refusal says the disk is full" ||
		fail "the refusal says the disk is full" "$msg"
else
	grep -qE "disk is full|File too large|nothing was changed" <<<"$msg" && pass "the refusal says nothing was changed" ||
		fail "the refusal says nothing was changed" "$msg"
fi
check_alive "kipd serves reads while the disk is full"
check_out "kipd lists contacts while the disk is full" "Disk a20" kipctl contact list
check_out "kipd shows a contact while the disk is full" "Disk a1" kipctl contact show "${ACKED[0]}"
echo "# kipd's log meanwhile: $(grep -E 'contact.add refused' "$TDIR/kipd.log" | tail -1)"
# Space returns; kipd is stopped and started again.
rm -f "$SMALL/filler"
kip_stop
check_eq "full disk: the database is intact" "ok" "$(fdb 'PRAGMA integrity_check')"
kip_start
n_acked=${#ACKED[@]}
present=$(fdb "SELECT count(*) FROM contacts WHERE email LIKE 'disk%@fuld.example' AND id IN ($(IFS=,; echo "${ACKED[*]}"))")
total=$(fdb "SELECT count(*) FROM contacts WHERE email LIKE 'disk%@fuld.example'")
echo "# full disk: acknowledged $n_acked, present $present, rows in all $total"
check_eq "full disk: every acknowledged change is present" "$n_acked" "$present"
check_eq "full disk: no refused change was stored" "$n_acked" "$total"
check_out "full disk: the audit chain verifies" "ok|intact|verified" kipctl audit verify
check_out "full disk: writes work again" '"id"' add_contact z
kip_stop
if [ -z "${SMALL_UNMOUNTED:-}" ]; then umount "$SMALL" && SMALL=""; fi

# ---------------------------------------------------------------------
# 6. Allocations fail inside kipd (LD_PRELOAD tests/preload/failmalloc.c).
echo "# 6. allocation failure"
SHIM=$BDIR/preload/failmalloc.so
if [ ! -f "$SHIM" ] || ldd "$KIPD" | grep -q libasan; then
	echo "# note: allocation failure not run (needs $SHIM and a build without ASan; not counted)"
	t_done
	exit
fi
# fm_kipd NAME ENV...: a wrapper that starts kipd with the shim and ENV
# (exec keeps the pid); its failures are logged to $TDIR/NAME.fm.
fm_kipd() {
	local name=$1
	shift
	: >"$TDIR/$name.fm"
	{
		echo "#!/bin/sh"
		echo "exec env LD_PRELOAD=$SHIM KIP_FAILMALLOC_LOG=$TDIR/$name.fm $* $KIPD \"\$@\""
	} >"$TDIR/kipd-$name"
	chmod +x "$TDIR/kipd-$name"
	echo "$TDIR/kipd-$name"
}
# fm_end: stops the shimmed kipd; FM_HOW is "running", "exit N" or
# "signal N". A crash by signal prints the shim's backtrace, resolved.
fm_end() {
	local rc=0
	if kill -0 "$KIPD_PID" 2>/dev/null; then
		FM_HOW=running
		kill -TERM "$KIPD_PID"
		wait "$KIPD_PID" || rc=$?
		[ "$rc" = 0 ] || FM_HOW="running, then exit $rc at SIGTERM"
	else
		wait "$KIPD_PID" || rc=$?
		if [ "$rc" -gt 128 ]; then FM_HOW="signal $((rc - 128))"; else FM_HOW="exit $rc"; fi
	fi
	KIPD_PID=""
	case $FM_HOW in
	running | "exit 0") ;;
	*)
		echo "# kipd: $FM_HOW; shim log:"
		grep -v "^failmalloc: fail " "$1" | sed 's/^/#   /' | head -40
		grep -o '(+0x[0-9a-f]*)' "$1" | tr -d '()' | addr2line -f -i -e "$BDIR/kipd" 2>/dev/null |
			paste - - | sed 's/^/#   /' | head -20
		;;
	esac
}

FMDB=$TDIR/kip.db
# (a) Probability mode over every allocation (libraries included) while a
# stream of writes and reads runs; then kipd without the shim.
rm -f "$FMDB" "$FMDB"-*
KIP_EXTRA_CONF=$SMTP_CONF kip_config
KIPD=$(fm_kipd prob KIP_FAILMALLOC_SCOPE=all KIP_FAILMALLOC_PROB=0.002 KIP_FAILMALLOC_SEED=11) kip_start
ACKED=()
errs=0 ambiguous=0 noid=0
for i in $(seq 1 ${KIP_FAULTS_ALLOC_REQUESTS:-150}); do
	if out=$(kipctl --json contact add --kind professional --name "Minne $i" --email "m$i@hukommelse.example" 2>&1); then
		# Checked by address: a reply may lack the id (see below).
		ACKED+=("'m$i@hukommelse.example'")
		[ "$(jq -r .id <<<"$out")" != null ] || noid=$((noid + 1))
	else
		errs=$((errs + 1))
		grep -q "protocol error" <<<"$out" && ambiguous=$((ambiguous + 1))
		echo "$out" >>"$TDIR/prob.errors"
	fi
	kipctl contact list >/dev/null 2>&1
	kipctl whoami >/dev/null 2>&1
	kill -0 "$KIPD_PID" 2>/dev/null || break
done
fm_end "$TDIR/prob.fm"
injected=$(grep -c "^failmalloc: fail " "$TDIR/prob.fm")
echo "# probability 0.002 over all allocations: $injected failures injected, ${#ACKED[@]} writes acknowledged ($noid of them answered \"ok\" without the new id), $errs refused ($ambiguous without a reply); kipd: $FM_HOW"
echo "# what the user saw (most frequent):"
sort "$TDIR/prob.errors" 2>/dev/null | sed 's/kipctl: [^ ]*kipd.sock: /kipctl: SOCKET: /' | uniq -c | sort -rn | head -6 | sed 's/^/#   /'
[ "$injected" -gt 0 ] && pass "allocation failures were injected ($injected)" || fail "allocation failures were injected"
case $FM_HOW in running | "exit 0") pass "kipd survived the allocation failures ($FM_HOW)" ;;
*) fail "kipd survived the allocation failures ($FM_HOW)" ;; esac
check_eq "after allocation failures the database is intact" "ok" "$(db 'PRAGMA integrity_check')"
kip_start
present=$(db "SELECT count(*) FROM contacts WHERE email IN ($(IFS=,; echo "${ACKED[*]:-''}"))")
total=$(db "SELECT count(*) FROM contacts WHERE email LIKE 'm%@hukommelse.example'")
check_eq "every acknowledged write is present after a restart without the shim" "${#ACKED[@]}" "$present"
[ "$total" -le $((${#ACKED[@]} + ambiguous)) ] &&
	pass "no refused write was stored ($total rows <= ${#ACKED[@]} acknowledged + $ambiguous unanswered)" ||
	fail "no refused write was stored ($total rows, ${#ACKED[@]} acknowledged, $ambiguous unanswered)"
check_eq "the audit chain verifies after allocation failures" "true" "$(kipctl --json audit verify | jq -r .ok)"
kip_stop

# (b) One allocation fails, at the K-th allocation after the first
# request, over a fixed sequence of requests that approves and mails a
# plan; K runs over kipd's own calls (scope self) and over all calls
# (libraries too). Each run starts from an empty database.
# take CMD...: runs a kipctl --json command; non-zero when it was refused,
# or when it answered ok without the new id (counted in FM_NOID); else the
# id is in GOT.
take() {
	local out
	out=$("$@" 2>/dev/null) || return 1
	GOT=$(jq -r '.id // empty' <<<"$out" 2>/dev/null)
	[ -n "$GOT" ] || { FM_NOID=$((FM_NOID + 1)); return 2; }
}
fm_sequence() {
	local k c p m
	FM_ACK=()
	take kipctl --json contact add --kind professional --name "Karen Koordinator" \
		--email karen.koordinator@kommune.example || return 0
	k=$GOT && FM_ACK+=("contacts WHERE id = $k")
	take kipctl --json citizen add --name "Frida Fejltest" --cpr 120345-4001 --address "Prøvevej 11" \
		--phone "+45 20 20 20 22" || return 0
	c=$GOT && FM_ACK+=("citizens WHERE id = $c")
	kipctl consent give "$c" --scope plan --date 2026-11-01 --document J >/dev/null 2>&1 || return 0
	FM_ACK+=("consents WHERE citizen_id = $c AND action = 'given'")
	take kipctl --json plan create "$c" --basis psych-patient --coordinator "$k" || return 0
	p=$GOT && FM_ACK+=("plans WHERE id = $p")
	take kipctl --json meeting schedule "$p" --start "2014-05-01 10:00" --place X || return 0
	m=$GOT && FM_ACK+=("meetings WHERE id = $m")
	kipctl plan version add "$p" --meeting "$m" --file "$FIXTURES/bilag2.yaml" >/dev/null 2>&1 || return 0
	FM_ACK+=("plan_versions WHERE plan_id = $p AND version = 1")
	kipctl plan approve "$p" --version 1 --how meeting --date 2014-05-01 >/dev/null 2>&1 || return 0
	FM_ACK+=("plan_versions WHERE plan_id = $p AND approved_at IS NOT NULL" "outbox WHERE plan_id = $p")
	kipctl plan status "$p" >/dev/null 2>&1
	kipctl plan render "$p" >/dev/null 2>&1
	kipctl audit verify >/dev/null 2>&1
	sleep 0.2 # the notices go out through the SMTP workers
}
fm_sweep() { # SCOPE STEP LIMIT
	local scope=$1 step=$2 limit=$3 k runs=0 crashes=0 lost=0 broken=0 w q n
	FM_NOID=0
	for ((k = 0; k <= limit; k += step)); do
		rm -f "$FMDB" "$FMDB"-*
		w=$(fm_kipd "s$k" KIP_FAILMALLOC_SCOPE="$scope" KIP_FAILMALLOC_AFTER="$k" KIP_FAILMALLOC_MAX=1)
		KIPD=$w kip_start || { crashes=$((crashes + 1)); continue; }
		n=$FM_NOID
		fm_sequence
		[ "$FM_NOID" = "$n" ] || echo "# K=$k: kipd answered ok without the new id"
		fm_end "$TDIR/s$k.fm"
		runs=$((runs + 1))
		case $FM_HOW in running | "exit 0") ;; *) crashes=$((crashes + 1)); echo "# K=$k: $FM_HOW" ;; esac
		[ "$(db 'PRAGMA integrity_check')" = ok ] || { broken=$((broken + 1)); echo "# K=$k: integrity_check fails"; }
		for q in "${FM_ACK[@]}"; do
			[ "$(db "SELECT count(*) > 0 FROM $q")" = 1 ] || { lost=$((lost + 1)); echo "# K=$k: acknowledged but missing: $q"; }
		done
		rm -f "$TDIR/s$k.fm" "$TDIR/kipd-s$k"
	done
	echo "# sweep scope=$scope, K = 0..$limit step $step: $runs runs, crashes $crashes, acknowledged changes missing $lost, ok replies without their id $FM_NOID, damaged databases $broken"
	check_eq "sweep ($scope): kipd never crashed" "0" "$crashes"
	check_eq "sweep ($scope): no acknowledged change missing" "0" "$lost"
	check_eq "sweep ($scope): every ok reply carries its id" "0" "$FM_NOID"
	check_eq "sweep ($scope): integrity_check ok after every run" "0" "$broken"
}
# How many calls the sequence makes, counted by a run that fails none.
KIP_EXTRA_CONF=$SMTP_CONF kip_config
rm -f "$FMDB" "$FMDB"-*
KIPD=$(fm_kipd count KIP_FAILMALLOC_SCOPE=self KIP_FAILMALLOC_AFTER=999999999) kip_start
fm_sequence
fm_end "$TDIR/count.fm"
SELF_CALLS=$(sed -n 's/.* \([0-9]*\) candidate calls.*/\1/p' "$TDIR/count.fm" | tail -1)
rm -f "$FMDB" "$FMDB"-*
KIPD=$(fm_kipd countall KIP_FAILMALLOC_SCOPE=all KIP_FAILMALLOC_AFTER=999999999) kip_start
fm_sequence
fm_end "$TDIR/countall.fm"
ALL_CALLS=$(sed -n 's/.* \([0-9]*\) candidate calls.*/\1/p' "$TDIR/countall.fm" | tail -1)
echo "# the sequence makes $SELF_CALLS allocations in kipd's own code, $ALL_CALLS in all"
if [ "${KIP_FAULTS_SWEEP:-0}" = 1 ]; then
	fm_sweep self 1 "$SELF_CALLS"
	fm_sweep all $((ALL_CALLS / 1000 + 1)) "$ALL_CALLS"
else
	fm_sweep self $((SELF_CALLS / 25 + 1)) "$SELF_CALLS"
	fm_sweep all $((ALL_CALLS / 25 + 1)) "$ALL_CALLS"
fi
t_done
