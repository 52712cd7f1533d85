#!/usr/bin/env bash
# SMTP trouble: a server certificate kipd does not trust, a server that
# speaks only TLS below 1.2, a server answering 4xx for a while and then
# recovering, and one answering 5xx. The recorder sits behind stunnel so
# that kipd can reach it over TLS.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"

read -r TLS_PORT OLD_PORT < <(_mail_free_ports 2)
S1=$(recorder_tls modern "$TLS_PORT" "sslVersionMin = TLSv1.2")
S2=$(recorder_tls old "$OLD_PORT" "sslVersionMin = TLSv1" "sslVersionMax = TLSv1.1" \
	"ciphers = DEFAULT@SECLEVEL=0")
trap 'kill $S1 $S2 2>/dev/null; kip_stop; mail_stop "$TDIR/mail" >/dev/null 2>&1; rm -rf "$TDIR"' EXIT
_mail_wait_port "$TLS_PORT" 5 && _mail_wait_port "$OLD_PORT" 5 ||
	fail "stunnel listens" "$(cat "$TDIR"/*.log)"

setup_plan() {
	K=$(kipctl --json contact add --kind professional --name "Karen Koordinator" \
		--email karen.koordinator@kommune.example \
		--cert "$PKI/karen.koordinator_at_kommune.example.pem" | jq -r .id)
	P=$(kipctl --json contact add --kind professional --name "Peter Psykiatri" \
		--email peter.psykiatri@region.example \
		--cert "$PKI/peter.psykiatri_at_region.example.pem" | jq -r .id)
	C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
		--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
	kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
	PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
	kipctl plan member add "$PLAN" "$P" >/dev/null
	M=$(kipctl --json meeting schedule "$PLAN" --start "2014-05-01 10:00" --place X | jq -r .id)
	kipctl plan version add "$PLAN" --meeting "$M" --file "$FIXTURES/bilag2.yaml" >/dev/null
}
states() { kipctl --json plan status "$PLAN" | jq -r '[.messages[] | select(.kind == "plan" and .recipient != null) | .state] | unique | join(",")'; }
replies() { kipctl --json plan status "$PLAN" | jq -r '.messages[] | select(.kind == "plan" and .recipient != null) | .last_reply'; }
# until_status JQ: polls plan status until the jq expression JQ holds (at
# most 30 s, times KIP_TEST_SLOW: a PDF helper under valgrind starts
# slowly); the last status in $st.
until_status() {
	for _ in $(seq 1 $((300 * KIP_TEST_SLOW))); do
		st=$(kipctl --json plan status "$PLAN")
		jq -e "$1" <<<"$st" >/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# 1. A server certificate from a CA kipd does not trust.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TDIR/other.key" -out "$TDIR/other-ca.pem" \
	-subj "/CN=Some other CA" -days 30 2>/dev/null
mail_conf "smtps://localhost:$TLS_PORT" 
sed -i "s|ca_file = \"$PKI/ca.pem\"|ca_file = \"$TDIR/other-ca.pem\"|" "$TDIR/kipd.conf"
kip_start
setup_plan
: >"$RECORDER_LOG"
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null
until_status '[.messages[] | select(.kind == "plan" and .recipient != null) | .state] | unique == ["deferred"]' || true
check_eq "an untrusted server certificate defers the message" "deferred" "$(states)"
replies | grep -qiE "certificate|SSL" && pass "the reason names the certificate" ||
	fail "the reason names the certificate" "$(replies)"
[ ! -s "$RECORDER_LOG" ] && pass "the server behind the bad certificate saw nothing" ||
	fail "the server behind the bad certificate saw nothing" "$(cat "$RECORDER_LOG")"
kip_stop

# 2. A server that speaks only TLS 1.0/1.1.
mail_conf "smtps://localhost:$OLD_PORT"
kip_start
kipctl plan distribute "$PLAN" --version 1 >/dev/null
until_status 'any(.messages[]; .kind == "plan" and .recipient != null and .state == "deferred")' || true
check_out "TLS below 1.2 defers the message" "deferred" states
replies | grep -qiE "SSL|TLS|handshake|connect" && pass "the reason names the TLS failure" ||
	fail "the reason names the TLS failure" "$(replies)"
[ ! -s "$RECORDER_LOG" ] && pass "the old-TLS server saw no SMTP command" ||
	fail "the old-TLS server saw no SMTP command" "$(cat "$RECORDER_LOG")"
kip_stop

# 3. 4xx for a while, then recovery: deferred, retried with back-off, sent.
mail_recorder_mode tempfail
mail_conf "smtps://localhost:$TLS_PORT"
kip_start
kipctl plan distribute "$PLAN" --version 1 >/dev/null
until_status '[.messages[] | select(.kind == "plan" and .state == "deferred" and .attempts >= 2)] | length > 0' || true
jq -e '[.messages[] | select(.kind == "plan" and .state == "deferred" and .attempts >= 2)] | length > 0' <<<"$st" >/dev/null &&
	pass "4xx defers and retries (attempts grow)" || fail "4xx defers and retries (attempts grow)" "$st"
jq -r '.messages[] | select(.state == "deferred") | .last_reply' <<<"$st" | grep -q "451" &&
	pass "the SMTP reply 451 is recorded" || fail "the SMTP reply 451 is recorded"
mail_recorder_mode accept
n=0
for _ in $(seq 1 $((100 * KIP_TEST_SLOW))); do
	n=$(kipctl --json plan status "$PLAN" | jq '[.messages[] | select(.kind == "plan" and .state == "sent")] | length')
	[ "$n" -ge 6 ] && break
	sleep 0.1
done
[ "$n" -ge 6 ] && pass "after the server recovers every deferred message is sent ($n)" ||
	fail "after the server recovers every deferred message is sent ($n)" "$(kipctl plan status "$PLAN")"
check_out "the recorder received them over TLS" "." ls "$RECORDER_MAIL"

# 4. 5xx fails at once, and the coordinator is told. (The mode applies to
# new connections; kipd keeps its connection, so it is restarted.)
mail_recorder_mode permfail
kip_stop
kip_start
kipctl plan distribute "$PLAN" --version 1 >/dev/null
until_status '[.messages[] | select(.kind == "plan" and .state == "failed")] | length >= 2' || true
jq -e '[.messages[] | select(.kind == "plan" and .state == "failed" and .attempts == 1)] | length == 2' <<<"$st" >/dev/null &&
	pass "5xx fails at once, after one attempt" || fail "5xx fails at once, after one attempt" \
	"$(jq -c '.messages[] | [.id, .kind, .state, .attempts, .last_reply]' <<<"$st" | tail -8)"
jq -e '[.messages[] | select(.kind == "failure")] | length >= 1' <<<"$st" >/dev/null &&
	pass "a failure notice to the coordinator is queued" || fail "a failure notice to the coordinator is queued" "$st"
check_alive "kipd serves after failures"
t_done
