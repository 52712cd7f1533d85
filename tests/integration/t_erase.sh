#!/usr/bin/env bash
# Erasure (kipctl citizen erase): who may erase and when (rule retention,
# --force for admins only), what goes (every row with the citizen's
# personal data), what stays (the audit trail, the event log, other
# citizens), and that nothing erased is left in the bytes of the database,
# its WAL or its shared-memory file. All people and CPR numbers are
# fictional (dates of birth in the 2050s).
. "$(dirname "$0")/../lib.sh"

coord() { as daemon "$KIPCTL" "$@"; } # Karen, coordinator
peter() { as bin "$KIPCTL" "$@"; }    # Peter, professional
json() { kipctl --json "$@"; }
db() { sqlite3 "$TDIR/kip.db" "$@"; } # only while kipd is stopped
today=$(date +%F)

# The strings that must not survive an erasure; filled in as they are stored.
ERASED=()

# scan: "file: 'string' (N lines)" for every erased string found in the
# store's files, as raw bytes; nothing when the files are clean.
scan() {
	local f s n
	for f in "$TDIR/kip.db" "$TDIR/kip.db-wal" "$TDIR/kip.db-shm"; do
		[ -e "$f" ] || continue
		for s in "$@"; do
			n=$(LC_ALL=C grep -a -F -c -- "$s" "$f")
			[ "$n" -gt 0 ] && echo "${f##*/}: '$s' ($n lines)"
		done
	done
	return 0
}

# citizen NAME CPR ADDRESS EMAIL: registers a citizen with plan and
# relatives consent; prints the id.
citizen() {
	local id
	id=$(coord --json citizen add --name "$1" --cpr "$2" --address "$3" \
		--phone "+45 61 23 45 67" --email "$4" | jq -r .id)
	coord consent give "$id" --scope plan --date "$today" --document "J.nr. $2-A" >/dev/null
	coord consent give "$id" --scope relatives --date "$today" --document "J.nr. $2-B" >/dev/null
	echo "$id"
}

# everything CITIZEN NAME_PREFIX DOCUMENT: a plan with a relative, a
# supporter, a held meeting with attendance, an approved version, and a
# cancelled meeting; sets PLAN, REL, SUP, MEET.
everything() {
	local c=$1 who=$2 doc=$3
	PLAN=$(coord --json plan create "$c" --basis psych-patient | jq -r .id)
	REL=$(coord --json contact add --kind relative --name "$who Pårørende" \
		--citizen "$c" --phone "+45 62 62 62 62" \
		--email "${who,,}.paaroerende@privat.example" | jq -r .id)
	SUP=$(coord --json contact add --kind supporter --name "$who Bisidder" \
		--citizen "$c" --email "${who,,}.bisidder@privat.example" | jq -r .id)
	coord plan member add "$PLAN" "$REL" >/dev/null
	coord plan member add "$PLAN" "$SUP" >/dev/null
	MEET=$(coord --json meeting schedule "$PLAN" --start "2014-05-01 10:00" \
		--place "$who-lokalet, Glemmevej 13" --reason "$who vil have hjælp" \
		--situation "$who bor alene" | jq -r .id)
	coord meeting attendance "$MEET" --present "$K,$REL" --apologies "$SUP" \
		--citizen present >/dev/null
	coord meeting held "$MEET" >/dev/null
	coord plan version add "$PLAN" --meeting "$MEET" --file "$doc" >/dev/null
	coord plan approve "$PLAN" --version 1 --how meeting --date 2014-05-01 >/dev/null
	local mc
	mc=$(coord --json meeting schedule "$PLAN" --start "2014-06-01 10:00" \
		--place "$who-stuen" | jq -r .id)
	coord meeting cancel "$mc" --reason "$who er syg" >/dev/null
}

kip_start
K=$(json contact add --kind professional --name "Karen Koordinator" \
	--email karen.koordinator@kommune.example | jq -r .id)

# --- the citizen to erase, and one who stays ------------------------------
Z=$(citizen "Zacharias Sletmig" 150355-5123 "Glemmevej 13, 9999 Udslettet" \
	zacharias.sletmig@borger.example)
everything "$Z" Zacharias "$FIXTURES/bilag2.yaml"
ZPLAN=$PLAN ZREL=$REL ZSUP=$SUP ZMEET=$MEET
ERASED+=("Zacharias Sletmig" 150355-5123 1503555123 "Glemmevej 13, 9999 Udslettet"
	zacharias.sletmig@borger.example "Zacharias Pårørende" "Zacharias Bisidder"
	zacharias.paaroerende@privat.example zacharias.bisidder@privat.example
	"Zacharias-lokalet" "Zacharias vil have hjælp" "Zacharias bor alene"
	"Zacharias-stuen" "Zacharias er syg" agorafobi)

sed 's/agorafobi/klaustrofobi/g' "$FIXTURES/bilag2.yaml" >"$TDIR/bodil.yaml"
B=$(citizen "Bodil Bliverher" 120454-5678 "Blivevej 1, 9999 Testby" \
	bodil.bliverher@borger.example)
everything "$B" Bodil "$TDIR/bodil.yaml"
BPLAN=$PLAN BREL=$REL
KEPT=("Bodil Bliverher" 120454-5678 "Blivevej 1, 9999 Testby" "Bodil Pårørende"
	"Bodil-lokalet" klaustrofobi)

check_out "the citizen's plan is in place (approved version)" "approved_at: +2014-05-01" \
	coord plan version show "$ZPLAN" --version 1
n=$(sqlite3 "file:$TDIR/kip.db?mode=ro" \
	"select count(*) from outbox where citizen_id = $Z" 2>&1)
check_out "approval queued messages for the citizen's network" "^[1-9][0-9]*$" echo "$n"
hits=$(scan "${ERASED[@]}")
check_out "before erasure, the scan finds the citizen in the store's files" \
	"Zacharias Sletmig" echo "$hits"

# --- who may erase, and when: rule retention (default 3650 days) ----------
from=$(date -d "$today + 3650 days" +%F)
check_err "rule retention: a coordinator cannot erase within the period" \
	"rule retention: .*may be erased from $from" coord citizen erase "$Z"
check_err "rule retention: also an admin without --force" \
	"rule retention: .*may be erased from $from" kipctl citizen erase "$Z"
check_err "--force is for admins only" "forbidden" coord citizen erase "$Z" --force
check_err "a professional cannot erase" "needs the role coordinator" \
	peter citizen erase "$Z"
check_out "the refusals changed nothing" "name: +Zacharias Sletmig" \
	coord citizen show "$Z"

check_out "an admin erases within the period with --force" '"forced": true' \
	json citizen erase "$Z" --force
# Scanned at once, with kipd running: the WAL is where old pages linger.
hits=$(scan "${ERASED[@]}")
check_eq "nothing of the citizen is left in kip.db, -wal or -shm (kipd running)" "" "$hits"
hits=$(scan "${KEPT[@]}")
check_out "the other citizen's data is still in the file" "klaustrofobi" echo "$hits"
check_err "the erased citizen is not found" "not_found|not found" coord citizen show "$Z"
check_err "the erased citizen is not found by an admin" "not found" kipctl citizen show "$Z"
check_err "the erased citizen's plan is gone" "not found" kipctl plan show "$ZPLAN"
check_err "the erased citizen's relative is gone" "not found" kipctl contact show "$ZREL"
check_err "the erased citizen's supporter is gone" "not found" kipctl contact show "$ZSUP"
check_err "the erased citizen's meeting is gone" "not found" kipctl meeting show "$ZMEET"
check_err "an erased citizen cannot be erased twice" "not found" kipctl citizen erase "$Z" --force
# Who read and changed the erased citizen's data stays open to the
# administrator (and the data-protection officer) under the former id.
A=$(json audit --citizen "$Z")
check_eq "an admin lists the erased citizen's audit trail by the former id" \
	"true true 1" \
	"$(jq -r '"\(.erased) \((.entries | length) > 5) \([.entries[] | select(.action == "citizen.erase" and .outcome == "ok")] | length)"' <<<"$A")"
check_err "others do not: the citizen is gone for them" "not found" coord audit --citizen "$Z"
check_err "an id that never was a citizen is still not found" "not found" kipctl audit --citizen 999999
check_out "the CPR number can be registered again" "^[0-9]+$" \
	sh -c "$KIPCTL --json citizen add --name 'Zacharias Sletmig' --cpr 150355-5123 \
	--address X --phone 1 | jq -r .id"
Z2=$(json citizen list --cpr 150355-5123 | jq -r '.citizens[0].id')
kipctl citizen erase "$Z2" --force >/dev/null
check_out "the other citizen is untouched" "name: +Bodil Bliverher" coord citizen show "$B"
check_out "the other citizen's plan text is untouched" "klaustrofobi" \
	coord plan version show "$BPLAN" --version 1
check_out "the other citizen's relative is untouched" "name: +Bodil Pårørende" \
	coord contact show "$BREL"
check_alive
kip_stop

# --- retention 0: a coordinator erases; the period counts meetings ahead ---
KIP_EXTRA_CONF='plans = { retention_days = 0; };' kip_config
kip_start
X=$(citizen "Xenia Forsvind" 010253-5432 "Borteby Alle 2, 9999 Testby" \
	xenia.forsvind@borger.example)
everything "$X" Xenia "$FIXTURES/bilag2.yaml"
XPLAN=$PLAN
# The audit trail and the event log outlive the citizen under its id: a new
# citizen given that id would inherit a stranger's history.
if [ "$X" != "$Z" ] && [ "$X" != "$Z2" ]; then
	pass "a new citizen does not get an erased citizen's id"
else
	fail "a new citizen does not get an erased citizen's id" \
		"new citizen $X; erased before: $Z $Z2 (ids are reused: no AUTOINCREMENT)"
fi
ERASED+=("Xenia Forsvind" 010253-5432 0102535432 "Borteby Alle 2, 9999 Testby"
	xenia.forsvind@borger.example "Xenia Pårørende" "Xenia Bisidder"
	xenia.paaroerende@privat.example "Xenia-lokalet" "Xenia vil have hjælp")
MF=$(coord --json meeting schedule "$XPLAN" --start "2030-01-10 09:00" --place "Xenia-fremtid" \
	| jq -r .id)
ERASED+=("Xenia-fremtid")
check_err "rule retention: a meeting ahead counts as plan activity" \
	"rule retention: .*may be erased from 2030-01-10" coord citizen erase "$X"
coord meeting cancel "$MF" >/dev/null
Y=$(json citizen add --name "Yrsa Ukendt" --cpr 020253-5432 --address "Andetsteds 3" \
	--phone 1 | jq -r .id)
check_err "a coordinator without access to the citizen cannot erase" "forbidden" \
	coord citizen erase "$Y"
check_out "a coordinator with access erases once the period has passed" '"forced": false' \
	as daemon "$KIPCTL" --json citizen erase "$X"
hits=$(scan "${ERASED[@]}")
check_eq "nothing of either erased citizen is left (kipd running)" "" "$hits"
check_err "the erased citizen is not found" "not found" kipctl citizen show "$X"
check_out "the citizen without access is still there" "name: +Yrsa Ukendt" kipctl citizen show "$Y"
check_alive
kip_stop

# --- at rest: the files, and what stays -----------------------------------
hits=$(scan "${ERASED[@]}")
check_eq "nothing of the erased citizens is left after shutdown" "" "$hits"
hits=$(scan "${KEPT[@]}")
check_eq "all of the other citizen's data is still in the file" "${#KEPT[@]}" \
	"$(grep -c . <<<"$hits")"
check_eq "the store is intact" "ok" "$(db 'PRAGMA integrity_check')"
check_eq "no foreign key points at an erased row" "" "$(db 'PRAGMA foreign_key_check')"
for t in "citizens where id" "consents where citizen_id" "contacts where citizen_id" \
	"plans where citizen_id" "outbox where citizen_id"; do
	check_eq "no rows left: $t = Z, X" "0" \
		"$(db "select count(*) from $t in ($Z, $X)")"
done
check_eq "no versions, meetings or members of the erased plans are left" "0|0|0" \
	"$(db "select (select count(*) from plan_versions where plan_id in ($ZPLAN, $XPLAN)),
		(select count(*) from meetings where plan_id in ($ZPLAN, $XPLAN)),
		(select count(*) from plan_members where plan_id in ($ZPLAN, $XPLAN))")"
check_eq "no attendance of the erased relatives is left" "0" \
	"$(db "select count(*) from meeting_attendance where contact_id in ($ZREL, $ZSUP)")"
n=$(db "select count(*) from audit where citizen_id = $Z")
check_out "the audit trail of the erased citizen stays (ids only)" "^[1-9][0-9]*$" echo "$n"
check_eq "the erasure itself is in the audit trail" "1" \
	"$(db "select count(*) from audit where citizen_id = $Z and action = 'citizen.erase'
		and outcome = 'ok'")"
check_out "the refusals are in the audit trail" "refused:rule" \
	db "select outcome from audit where citizen_id = $Z and action = 'citizen.erase'"
n=$(db "select count(*) from event_log where citizen_id = $Z and type <> 'citizen.erased'")
check_out "the event log of the erased citizen stays (for statistics)" "^[1-9][0-9]*$" echo "$n"
check_eq "each erasure emitted citizen.erased" "$Z $Z2 $X" \
	"$(db "select citizen_id from event_log where type = 'citizen.erased' order by id" |
		tr '\n' ' ' | sed 's/ $//')"
check_eq "the erasures are recorded: who, and whether forced" "$Z|root|1 $Z2|root|1 $X|daemon|0" \
	"$(db "select citizen_id, by, forced from erasures order by id" | tr '\n' ' ' | sed 's/ $//')"
check_eq "the other citizen's rows are all there" "1|2|1|1" \
	"$(db "select (select count(*) from citizens where id = $B),
		(select count(*) from contacts where citizen_id = $B),
		(select count(*) from plans where citizen_id = $B),
		(select count(*) from plan_versions where plan_id = $BPLAN)")"
check_out "kipd logged how long the scrub took" "erase: store rewritten, WAL truncated in [0-9]+ ms" \
	cat "$TDIR/kipd.log"
t_done
