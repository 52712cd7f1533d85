#!/usr/bin/env bash
# Closing the loop on delivery, against real servers: a copy that could not
# go by mail is recorded as handed over (kipctl plan handed), and the
# coordinator's daily digest lists what waits — at its hour, exactly once a
# day across a restart and a kill -9, encrypted, and not at all when
# nothing waits.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mail_lib.sh"
. "$ROOT/tests/clock_lib.sh"

mail_conf "$POSTFIX_URL" 'digest = { hour = 12; manual_days = 0; unconfirmed_days = 0; unacked_days = 0; };'
kip_start

# Fictional people; the CPR numbers have birth dates in 2056.
add() { kipctl --json contact add "$@" | jq -r .id; }
K=$(add --kind professional --name "Karen Koordinator" --email karen.koordinator@kommune.example \
	--cert "$PKI/karen.koordinator_at_kommune.example.pem")
P=$(add --kind professional --name "Peter Psykiatri" --email peter.psykiatri@region.example \
	--cert "$PKI/peter.psykiatri_at_region.example.pem")
X=$(add --kind professional --name "Xenia Udenbrev" --email xenia@region.example)
J=$(add --kind professional --name "Jonas Job" --email jonas.job@jobcenter.example \
	--cert "$PKI/jonas.job_at_jobcenter.example.pem")
C=$(kipctl --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
kipctl consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1" >/dev/null
kipctl consent give "$C" --scope relatives --date 2026-11-01 --document "J.nr. 1" >/dev/null
L=$(add --kind relative --name "Lise Testesen" --citizen "$C" --email lise.testesen@privat.example)
PLAN=$(kipctl --json plan create "$C" --basis psych-patient --coordinator "$K" | jq -r .id)
for m in "$P" "$X" "$L"; do kipctl plan member add "$PLAN" "$m" >/dev/null; done
START=$(kdate -d "+5 days" "+%Y-%m-%d 10:00")
M=$(kipctl --json meeting schedule "$PLAN" --start "$START" --place "Rådhuset" | jq -r .id)
sed "s/^follow_up: .*/follow_up: $(kdate -d "+3 months" +%Y-%m-%d)/" "$FIXTURES/bilag2.yaml" >"$TDIR/plan.yaml"
kipctl plan version add "$PLAN" --meeting "$M" --file "$TDIR/plan.yaml" >/dev/null
kipctl plan approve "$PLAN" --version 1 --how meeting --date 2026-11-02 >/dev/null
# A second plan coordinated by Jonas, with nothing to act on yet.
C2=$(kipctl --json citizen add --name "Anna Prøvesen" --cpr 010156-5123 \
	--address "Prøvevej 9, 9999 Testby" --phone "+45 21 21 21 21" | jq -r .id)
kipctl consent give "$C2" --scope plan --date 2026-11-01 --document "J.nr. 2" >/dev/null
kipctl plan create "$C2" --basis psych-patient --coordinator "$J" >/dev/null
outbox_drained "$PLAN" 600 && pass "the outbox drains" || fail "the outbox drains"

status() { kipctl --json plan status "$PLAN" --version 1; }
copy() { jq -r --arg n "$1" '.messages[] | select(.name == $n and .kind == "plan") | "\(.state) \(.delivery)"' <<<"$(status)"; }
check_eq "Xenia's copy waits to be handed over" "manual null" "$(copy "Xenia Udenbrev")"

# --- plan handed -------------------------------------------------------------
check_err "handed needs to know who" "--contact ID or --citizen" \
	kipctl plan handed "$PLAN" --version 1 --how "Udleveret"
check_err "a copy sent by mail is not handed over" "no copy for contact $P that waits" \
	kipctl plan handed "$PLAN" --version 1 --contact "$P" --how "Udleveret"
check_err "a date in the future is refused" "in the future" \
	kipctl plan handed "$PLAN" --version 1 --contact "$X" --how "Udleveret" --date 2099-01-01
check_err "a professional may not record it" "forbidden|not allowed|role" \
	as bin "$KIPCTL" plan handed "$PLAN" --version 1 --contact "$X" --how "Udleveret"
check_out "the coordinator records Xenia's copy as handed over" '"delivery": "handed"' \
	as daemon "$KIPCTL" --json plan handed "$PLAN" --version 1 --contact "$X" \
	--how "Udleveret personligt på mødet" --date "$(kdate +%F)"
check_eq "plan status shows it handed" "manual handed" "$(copy "Xenia Udenbrev")"
check_eq "with how" "Udleveret personligt på mødet" \
	"$(jq -r '.messages[] | select(.name == "Xenia Udenbrev" and .kind == "plan") | .delivery_detail' <<<"$(status)")"
check_err "the same copy cannot be handed twice" "waits to be handed over" \
	kipctl plan handed "$PLAN" --version 1 --contact "$X" --how "Igen"
check_out "the audit trail has it" "plan.handed" kipctl audit --citizen "$C"

# --- kipctl digest -------------------------------------------------------------
d=$(as daemon "$KIPCTL" --json digest)
check_eq "Karen's digest lists the citizen's and Lise's copies as manual, not Xenia's" "citizen,relative" \
	"$(jq -r '[.plans[].manual[].recipient_kind] | join(",")' <<<"$d")"
check_eq "and the meeting ahead" "1" "$(jq -r '.counts.meetings' <<<"$d")"
check_eq "Jonas's has nothing" "0" \
	"$(kipctl --json digest --coordinator "$J" | jq '[.counts[]] | add')"
check_err "a coordinator sees no one else's" "only an administrator" \
	as daemon "$KIPCTL" digest --coordinator "$J"
check_out "an administrator may" '"coordinator": '"$J" kipctl --json digest --coordinator "$J"

# --- the daily mail -------------------------------------------------------------
TOMORROW=$(kdate -d "+1 day" +%F)
mail_settled || true
n0=$(count karen.koordinator@kommune.example)
at "$(kdate -d "$TOMORROW 11:00" +%s)"
run >/dev/null
check_eq "before the hour no digest is due" "0" "$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM digests")"
at "$(kdate -d "$TOMORROW 12:05" +%s)"
run >/dev/null
check_eq "at the hour one digest per coordinator is recorded" "2" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM digests WHERE day = '$TOMORROW'")"
check_eq "Jonas, with nothing to act on, gets no mail" "1" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM digests WHERE coordinator_id = $J AND outbox_id IS NULL")"
mail_wait_count karen.koordinator@kommune.example $((n0 + 1)) 30 &&
	pass "Karen's digest arrives" || fail "Karen's digest arrives"
f=$(newest karen.koordinator@kommune.example "Daglig oversigt")
check_eq "its outer subject names the day" "Daglig oversigt – $TOMORROW" \
	"$(python3 "$ROOT/tests/mailpart.py" "$f" header Subject)"
text=$(decrypt "$f" "$PKI/karen.koordinator_at_kommune.example.pem" "$PKI/karen.koordinator_at_kommune.example.key")
grep -q "Plan KIP-$PLAN" <<<"$text" && grep -q "Skal udleveres manuelt.*en pårørende" <<<"$text" &&
	grep -q "kipctl plan handed $PLAN --version 1 --citizen" <<<"$text" &&
	grep -q "kipctl plan handed $PLAN --version 1 --contact $L" <<<"$text" && grep -q "Møde" <<<"$text" &&
	pass "decrypted, it lists Lise's copy with the command that closes it, and the meeting" ||
	fail "decrypted, it lists Lise's copy with the command that closes it, and the meeting" "$text"
grep -q "en pårørende, version 1 (intet certifikat)" <<<"$text" && ! grep -q "no certificate" <<<"$text" &&
	pass "the Danish digest says why in Danish" ||
	fail "the Danish digest says why in Danish" "$text"
! grep -qE "Bjarne|Testesen|290256|Xenia" <<<"$text" &&
	pass "it names neither the citizen nor the relative, nor the copy already handed over" ||
	fail "it names neither the citizen nor the relative, nor the copy already handed over" "$text"
[ "$(count jonas.job@jobcenter.example)" = 0 ] && pass "Jonas's mailbox is empty" ||
	fail "Jonas's mailbox is empty"

# Exactly once a day: another pass, a restart, a kill -9.
at "$(kdate -d "$TOMORROW 12:30" +%s)"
run >/dev/null
kip_stop
kip_start
run >/dev/null
kill -9 "$KIPD_PID"
wait "$KIPD_PID" 2>/dev/null
KIPD_PID=""
kip_start
at "$(kdate -d "$TOMORROW 18:00" +%s)"
run >/dev/null
outbox_drained "$PLAN" 300 || true
sleep 1
check_eq "one digest a day across passes, a restart and a kill -9" "1 $((n0 + 1))" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = 'digest'") $(count karen.koordinator@kommune.example)"
# The next day, the next digest; Lise's copy closed, it no longer shows.
kipctl plan handed "$PLAN" --version 1 --contact "$L" --how "Sendt med posten" >/dev/null
check_out "the citizen's copy is handed over with --citizen" '"delivery": "handed"' \
	kipctl --json plan handed "$PLAN" --version 1 --citizen --how "Givet på mødet"
at "$(kdate -d "$(kdate -d "$TOMORROW + 1 day" +%F) 12:00" +%s)"
run >/dev/null
check_eq "the next day brings the next digest" "2" \
	"$(sqlite3 "$TDIR/kip.db" "SELECT count(*) FROM outbox WHERE kind = 'digest'")"
check_eq "with both copies handed over, nothing manual is left" "0" \
	"$(as daemon "$KIPCTL" --json digest | jq -r '.counts.manual')"
at "$(date +%s)"

# Coverage in the figures: the version's five copies (Karen, the
# coordinator, is a member too), two sent, three handed over.
s=$(kipctl --json stats)
check_eq "stats: versions approved, copies, sent, handed, open" "1 5 2 3 0 0" \
	"$(jq -r '"\(.versions_approved) \(.copies) \(.copies_sent) \(.copies_handed) \(.copies_open) \(.copies_bounced)"' <<<"$s")"
check_eq "plan status starts with where each version's copies stand" \
	"version 1: 0 leveret, 0 åbnet, 2 sendt, 0 afvist, 3 udleveret, 0 udestående" \
	"$(kipctl --json plan status "$PLAN" | jq -r '.versions[0].line')"
check_out "and shows it in its readable view" "version 1: 0 leveret" kipctl plan status "$PLAN"
check_out "stats: the median time from approval to the relay's acceptance, in minutes" \
	'^[0-9]+$' jq -r .median_minutes_to_delivery <<<"$s"

# --- in English ------------------------------------------------------------------
kip_stop
mail_conf "$POSTFIX_URL" 'plans = { default_lang = "en"; };
digest = { hour = 12; manual_days = 0; unconfirmed_days = 0; unacked_days = 0; };'
kip_start
# Sent again: the new copies of Xenia, Lise and the citizen (who has no
# e-mail address) wait to be handed over.
kipctl plan distribute "$PLAN" --version 1 >/dev/null
outbox_drained "$PLAN" 600 || true
DAY3=$(kdate -d "+3 days" +%F)
at "$(kdate -d "$DAY3 12:05" +%s)"
run >/dev/null
f=""
for _ in $(seq 1 100); do
	f=$(newest karen.koordinator@kommune.example "Daily digest") && break
	sleep 0.2
done
check_eq "the English digest's outer subject" "Daily digest – $DAY3" \
	"$( [ -n "$f" ] && python3 "$ROOT/tests/mailpart.py" "$f" header Subject)"
text=$( [ -n "$f" ] && decrypt "$f" "$PKI/karen.koordinator_at_kommune.example.pem" "$PKI/karen.koordinator_at_kommune.example.key")
grep -q "^Daily digest $DAY3: what waits for you" <<<"$text" &&
	grep -q "To be handed over since .*: a relative, version 1 (no certificate)." <<<"$text" &&
	grep -q "Once done: kipctl plan handed $PLAN --version 1 --contact $L" <<<"$text" &&
	! grep -qE "udleveres|pårørende|Møde" <<<"$text" &&
	pass "decrypted, it is English throughout" || fail "decrypted, it is English throughout" "$text"
check_out "plan status's line in English" \
	"^version 1: [0-9]+ delivered, [0-9]+ opened, [0-9]+ sent, [0-9]+ bounced, [0-9]+ handed, 3 open$" \
	jq -r '.versions[0].line' <<<"$(kipctl --json plan status "$PLAN")"
at "$(date +%s)"
t_done
