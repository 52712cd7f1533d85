#!/usr/bin/env bash
# Bad luck while mailing: kill -9 in the middle of a 1,000-message
# distribution loses nothing; consent withdrawn while 100 messages wait for
# a stalled server means none of them is delivered.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"
N=${KIP_TEST_MASS:-1000}

mail_conf "$POSTFIX_URL"
kip_start
K=$(kipctl --json contact add --kind professional --name "Karen Koordinator" \
	--email karen.koordinator@kommune.example --phone "+45 70 10 20 31" | jq -r .id)
C=$(kipctl --json citizen add --name "Mona Massetest" --cpr 010151-5001 \
	--address "Prøvevej 9, 9999 Testby" --phone "+45 20 20 20 21" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 2" >/dev/null
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
# N members without certificates: each gets a signed neutral notice.
add_members "$PLAN" 1 "$N" Deltager d massetest.example 2>"$TDIR/members.err"
M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place X | jq -r .id)
kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null

# kill -9 once a tenth has gone out.
for _ in $(seq 1 600); do
	sent=$(kipctl --json plan status "$PLAN" | jq '[.messages[] | select(.kind == "notice" and .state == "sent")] | length')
	[ "$sent" -ge $((N / 10)) ] && break
	sleep 0.05
done
kill -9 "$KIPD_PID"
wait "$KIPD_PID" 2>/dev/null
KIPD_PID=""
pass "kipd killed with -9 after $sent of $N notices were sent"
check_eq "the database is intact after kill -9" "ok" "$(sqlite3 "$TDIR/kip.db" 'PRAGMA integrity_check')"
kip_start
outbox_drained "$PLAN" 600 && pass "the outbox drains after restart" || fail "the outbox drains after restart"
status=$(kipctl --json plan status "$PLAN")
check_eq "every one of the $((N + 1)) notices (members and coordinator) is sent" "$((N + 1))" \
	"$(jq '[.messages[] | select(.kind == "notice" and .state == "sent")] | length' <<<"$status")"
mass_files() { find "$MAILDIRS" -path '*@massetest.example/new/*' -type f; }
for _ in $(seq 1 1200); do
	[ "$(mass_files | wc -l)" -ge "$N" ] && break
	sleep 0.1
done
sleep 1 # duplicates, if any, arrive with the rest
ids=$(mass_files | xargs cat | grep -i '^Message-ID:' | sort)
unique=$(uniq <<<"$ids" | grep -c . || true)
total=$(grep -c . <<<"$ids" || true)
check_eq "messages lost: 0 (distinct messages delivered)" "$N" "$unique"
echo "# kill -9 during $N messages: delivered $total, distinct $unique, duplicates $((total - unique))"
# At most two messages per connection are handed to the SMTP workers.
[ $((total - unique)) -le 4 ] && pass "duplicates are at most those in flight at the kill ($((total - unique)) <= 4)" ||
	fail "duplicates are at most those in flight at the kill ($((total - unique)) <= 4)"

# SIGTERM in the middle of a distribution: the transactions in flight
# finish and are recorded, kipd exits 0, and nothing is sent twice.
dups_before=$((total - unique))
kipctl plan distribute "$PLAN" --version 1 >/dev/null
for _ in $(seq 1 600); do
	sent2=$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = 'notice' AND state = 'sent'")
	[ "$sent2" -ge $((N + 1 + N / 10)) ] && break
	sleep 0.05
done
kill -TERM "$KIPD_PID"
wait "$KIPD_PID"
rc=$?
KIPD_PID=""
check_eq "SIGTERM during sending: kipd exits 0" "0" "$rc"
check_eq "SIGTERM leaves no message half-sent (none in 'sending')" "0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE state = 'sending'")"
kip_start
outbox_drained "$PLAN" 600 || fail "the second distribution drains"
for _ in $(seq 1 1200); do
	[ "$(mass_files | wc -l)" -ge $((2 * N + dups_before)) ] && break
	sleep 0.1
done
sleep 1
ids=$(mass_files | xargs cat | grep -i '^Message-ID:' | sort)
unique=$(uniq <<<"$ids" | grep -c . || true)
total=$(grep -c . <<<"$ids" || true)
check_eq "after SIGTERM and restart every message arrived once more (distinct $((2 * N)))" "$((2 * N))" "$unique"
check_eq "SIGTERM added no duplicate" "$dups_before" "$((total - unique))"

# A slow disk: every sync of the WAL takes 300 ms (tests/preload/
# slowsync.c). A connection finishes a message only while fewer than two
# before it lack a durable record, and only the sync thread makes the
# records of replies durable, one sync after the other. With 2 connections
# at most 4 of 13 messages are accepted before the first such sync ends and
# at most 4 more after each further one, so the 13th waits for a third:
# it is accepted at least 900 ms after the first (seen here through a poll
# of the database every 10 ms: at least 800 ms). Without the gate all 13
# go out within tens of milliseconds.
kip_stop
runtime=$(ldd "$KIPD" | awk '/lib(asan|tsan)\.so/ { print $3; exit }')
wrap_before=$KIPD_WRAP
KIPD_WRAP="env LD_PRELOAD=${runtime:+$runtime:}$BUILD_DIR/preload/slowsync.so KIP_SLOWSYNC_MS=300 $KIPD_WRAP"
kip_start
C2=$(kipctl --json citizen add --name "Sif Langsomdisk" --cpr 010152-5002 \
	--address "Prøvevej 11, 9999 Testby" --phone "+45 20 20 20 22" | jq -r .id)
kipctl consent give "$C2" --scope plan --date 2026-11-01 --document "J.nr. 3" >/dev/null
PLAN2=$(kipctl --json plan create "$C2" --basis psych-patient --coordinator "$K" | jq -r .id)
add_members "$PLAN2" 1 12 Langsom l massetest.example
M2=$(kipctl --json meeting schedule "$PLAN2" --start "2014-05-01 10:00" --place X | jq -r .id)
kipctl plan version add "$PLAN2" --meeting "$M2" --file "$FIXTURES/bilag2.yaml" >/dev/null
kipctl plan approve "$PLAN2" --version 1 --how meeting --date 2014-05-01 >/dev/null
slow_sent() {
	sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE plan_id = $PLAN2 AND kind = 'notice' AND state = 'sent'"
}
first="" last=""
for _ in $(seq 1 3000); do
	n=$(slow_sent)
	[ -z "$first" ] && [ "$n" -ge 1 ] && first=$(date +%s%N)
	[ "$n" -ge 13 ] && { last=$(date +%s%N); break; }
	sleep 0.01
done
if [ -n "$first" ] && [ -n "$last" ]; then
	gap=$(((last - first) / 1000000))
	echo "# slow disk: 13 notices, first to last accepted in about $gap ms"
	[ "$gap" -ge 800 ] && pass "with 300 ms syncs the 13 notices wait for three of them ($gap ms >= 800)" ||
		fail "with 300 ms syncs the 13 notices wait for three of them ($gap ms >= 800)"
else
	fail "the 13 notices are sent with a slow disk (got $(slow_sent))"
fi
kip_stop
KIPD_WRAP=$wrap_before
kip_start

# Consent withdrawn while 100 messages wait for a stalled server.
kip_stop
mail_recorder_mode stall
mail_conf "$PLAIN_URL"
kip_start
kipctl plan distribute "$PLAN" --version 1 >/dev/null
before=$(kipctl --json plan status "$PLAN" | jq '[.messages[] | select(.state == "queued" or .state == "sending")] | length')
[ "$before" -ge 100 ] && pass "$before messages wait for the stalled server" ||
	fail "100 messages wait for the stalled server (got $before)"
sleep 1
kipctl consent withdraw "$C" --scope plan --date 2026-11-10 --document "Brev" >/dev/null
# The version's messages: the withdrawal also pauses the follow-up watch,
# whose notice to the coordinator (the deadline of 2014 is long past) is
# new mail of its own.
status=$(kipctl --json plan status "$PLAN" --version 1)
check_eq "withdrawal cancels every waiting message at once" "0" \
	"$(jq '[.messages[] | select(.state == "queued" or .state == "deferred")] | length' <<<"$status")"
sleep 3
status=$(kipctl --json plan status "$PLAN" --version 1)
check_eq "the messages in flight are cancelled too" "0" \
	"$(jq '[.messages[] | select(.state == "sending")] | length' <<<"$status")"
check_eq "none of them counts as sent" "0" \
	"$(jq '[.messages[] | select(.state == "sent" and .reason == "consent withdrawn")] | length' <<<"$status")"
check_eq "nothing is kept to build them from (no sealed row, no signed plan)" "0 0" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox_sealed s JOIN outbox o USING (id) WHERE o.plan_id = $PLAN AND o.state = 'cancelled'") $(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox_entity WHERE citizen_id = $C")"
# The server recovers and kipd is pointed at the real one: still nothing.
kip_stop
mail_recorder_mode accept
mail_conf "$POSTFIX_URL"
kip_start
sleep 3
cancelled_ids=$(sqlite3 "$TDIR/kip.db" "SELECT message_id FROM outbox WHERE plan_id = $PLAN AND version = 1 AND state = 'cancelled'")
check_eq "after recovery nothing of the cancelled messages is delivered" "0" \
	"$(find "$MAILDIRS" -type f \( -path '*/new/*' -o -path '*/cur/*' \) \
		-exec grep -hi '^Message-ID:' {} + | grep -cFf <(printf '%s\n' "$cancelled_ids"))"
[ -z "$(ls -A "$RECORDER_MAIL" 2>/dev/null)" ] && pass "the stalled server received no message" ||
	fail "the stalled server received no message"
t_done
