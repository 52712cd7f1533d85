#!/usr/bin/env bash
# The audit trail: hash-chained and append-only. Real activity must verify
# as an intact chain, and an independent implementation of the documented
# hash (audit.c's header) must agree with every stored hash. Then, with kipd
# stopped, the database file is tampered with through the sqlite3 CLI: the
# triggers refuse UPDATE, DELETE and INSERT without a hash; dropped (as
# someone with the file could), a changed, a deleted, an inserted and an
# appended entry must each be named by `kipctl audit verify`, which then
# exits non-zero. kipd keeps serving throughout.
. "$(dirname "$0")/../lib.sh"
DB=$TDIR/kip.db

coord() { as daemon "$KIPCTL" "$@"; } # Karen, coordinator
peter() { as bin "$KIPCTL" "$@"; }    # Peter, professional
sql() { sqlite3 -batch "$DB" "$@"; }
verify_json() { kipctl --json audit verify; }

# chain.py DB check|rehash: recomputes the chain as audit.c documents it.
# check prints "ok N" or "bad ID"; rehash rewrites every hash (an attacker
# who knows the format) and prints the new head.
cat >"$TDIR/chain.py" <<'PY'
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT id, at, os_user, uid, role, action, outcome,"
                  " citizen_id, plan_id, object, hash FROM audit ORDER BY id").fetchall()
prev, n, bad = b"0" * 64, 0, None
for row in rows:
    if row[10] is None:
        continue
    h = hashlib.sha256(prev)
    for v in row[:10]:
        if v is None:
            h.update(b"N")
        elif isinstance(v, int):
            h.update(b"I" + struct.pack(">q", v))
        else:
            b = v.encode() if isinstance(v, str) else bytes(v)
            h.update((b"T" if isinstance(v, str) else b"B") + struct.pack(">Q", len(b)) + b)
    got = h.hexdigest()
    n += 1
    if sys.argv[2] == "rehash":
        db.execute("UPDATE audit SET hash = ? WHERE id = ?", (got, row[0]))
    elif got != row[10] and bad is None:
        bad = row[0]
    prev = (got if sys.argv[2] == "rehash" else row[10]).encode()
db.commit()
print(prev.decode() if sys.argv[2] == "rehash" else ("bad %d" % bad if bad else "ok %d" % n))
PY
chain() { python3 "$TDIR/chain.py" "$DB" "$@"; }

# The guards as an attacker with the file would remove them.
drop_guards() {
	sql "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
	     DROP TRIGGER audit_hash_required;"
}
# kipd is stopped when these run, so the WAL is checkpointed; any -wal is
# copied and removed all the same.
snapshot() { cp "$DB" "$TDIR/pristine.db"; [ ! -f "$DB-wal" ] || cp "$DB-wal" "$TDIR/pristine.db-wal"; }
restore() {
	rm -f "$DB-wal" "$DB-shm"
	cp "$TDIR/pristine.db" "$DB"
	[ ! -f "$TDIR/pristine.db-wal" ] || cp "$TDIR/pristine.db-wal" "$DB-wal"
}

# --- entries from before the chain (schema < 3) --------------------------
# A store whose first entries have no hash, as an upgraded one would: the
# chain starts at the first hashed entry and the others count as unchained.
guards() { sql "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"; }
kip_start
kip_stop
if [ "$(guards)" != 3 ]; then
	fail "kipd installs the audit guards at start" \
		"daemon/kipd.c must call audit_install_guards() after store_open()"
	t_done
	exit
fi
pass "kipd installs the audit guards at start"
drop_guards
sql "INSERT INTO audit (at, os_user, uid, role, action, outcome, citizen_id)
     VALUES ('2026-01-01T10:00:00Z', 'root', 0, 'admin', 'citizen.add', 'ok', 1),
            ('2026-01-01T10:01:00Z', 'root', 0, 'admin', 'citizen.show', 'ok', 1);"

# --- activity -------------------------------------------------------------
kip_start
check_eq "the dropped guards are installed again at start" "3" "$(guards)"
K=$(kipctl --json contact add --kind professional --name "Karen Koordinator" \
	--email karen.koordinator@kommune.example | jq -r .id)
P=$(kipctl --json contact add --kind professional --name "Peter Psykiatri" \
	--email peter.psykiatri@region.example | jq -r .id)
C=$(coord --json citizen add --name "Bjarne Testesen" --cpr 290256-5417 \
	--address "Prøvevej 7, 9999 Testby" --phone "+45 20 20 20 20" | jq -r .id)
check_out "activity: a citizen is registered" "^[0-9]+$" echo "$C"
check_err "activity: a refused plan (no consent) is audited too" "rule consent" \
	coord plan create "$C" --basis psych-patient
check "activity: consent" coord consent give "$C" --scope plan --date 2026-11-01 --document "J.nr. 1"
PLAN=$(coord --json plan create "$C" --basis psych-patient | jq -r .id)
check_out "activity: a plan" "^[0-9]+$" echo "$PLAN"
check "activity: a member" coord plan member add "$PLAN" "$P"
check "activity: reads" sh -c "$KIPCTL citizen show $C >/dev/null && $KIPCTL plan show $PLAN >/dev/null"
check "activity: a member's read" peter plan show "$PLAN"
check_err "activity: a refusal on a plan" "not found" coord plan member add "$PLAN" 999
check "activity: a citizen list (one entry per citizen)" coord citizen list

# --- an intact trail --------------------------------------------------------
V=$(verify_json)
N=$(sql "SELECT count(*) FROM audit")
check_eq "audit verify: ok" "true" "$(jq -r .ok <<<"$V")"
check_eq "audit verify: every entry is checked" "$N" "$(jq -r .entries <<<"$V")"
check_eq "audit verify: the two entries from before the chain are unchained" "2" \
	"$(jq -r .unchained <<<"$V")"
check_eq "audit verify: no problems" "0" "$(jq -r '.problems | length' <<<"$V")"
HEAD=$(jq -r .head.hash <<<"$V")
check_eq "audit verify: the head is the last entry and its hash" \
	"$(sql "SELECT id || ' ' || hash FROM audit ORDER BY id DESC LIMIT 1")" \
	"$(jq -r '"\(.head.id) \(.head.hash)"' <<<"$V")"
check_out "kipctl audit verify prints the result" "ok: +yes" kipctl audit verify
check_err "audit verify is for admins" "needs the role admin" coord audit verify
check_eq "every entry has a 64-hex-digit hash, but the first two" "$((N - 2))" \
	"$(sql "SELECT count(*) FROM audit WHERE hash GLOB '$(printf '[0-9a-f]%.0s' {1..64})'")"
check_eq "no two entries share a hash" "$((N - 2))" "$(sql "SELECT count(DISTINCT hash) FROM audit")"
check_eq "the ids have no gaps" "$N" "$(sql "SELECT max(id) FROM audit")"
check_eq "NULL is stored where there is no plan or object" "1" \
	"$(sql "SELECT count(*) > 0 FROM audit WHERE plan_id IS NULL AND object IS NULL AND hash IS NOT NULL")"
kip_stop
check_eq "an independent implementation of the documented hash agrees" "ok $((N - 2))" "$(chain check)"

# --- the guards -------------------------------------------------------------
MID=$((N / 2))
check_err "the database refuses an UPDATE of an audit entry" "append-only: no UPDATE" \
	sql "UPDATE audit SET action = 'citizen.list' WHERE id = $MID"
check_err "the database refuses an UPDATE of a hash" "append-only: no UPDATE" \
	sql "UPDATE audit SET hash = NULL WHERE id = $MID"
check_err "the database refuses a DELETE of an audit entry" "append-only: no DELETE" \
	sql "DELETE FROM audit WHERE id = $MID"
check_err "the database refuses an entry without a hash" "written by kipd" \
	sql "INSERT INTO audit (at, os_user, uid, role, action, outcome)
	     VALUES ('2026-01-01T00:00:00Z', 'root', 0, 'admin', 'x', 'ok')"
check_eq "nothing was changed" "$N $HEAD" \
	"$(sql "SELECT count(*) FROM audit") $(sql "SELECT hash FROM audit ORDER BY id DESC LIMIT 1")"
snapshot

# tampered DESC PATTERN SQL: applies SQL to a fresh copy with the guards
# dropped, starts kipd, expects `audit verify` to fail matching PATTERN, and
# that kipd still serves.
tampered() {
	local desc=$1 pat=$2
	restore
	drop_guards
	sql "$3"
	kip_start
	check_err "$desc" "$pat" kipctl audit verify
	check_alive "kipd serves after: $desc"
}

tampered "a changed action is found at its entry" \
	"audit trail broken at entry $MID: content changed \(hash mismatch\) \(1 problem in $N entries.*\[rule\]" \
	"UPDATE audit SET action = 'citizen.list' WHERE id = $MID"
# Work goes on after a break; the new entries chain on, the break stays.
check "kipd keeps auditing after a break" coord citizen show "$C"
check_err "the break is still named after new entries" \
	"broken at entry $MID: content changed \(hash mismatch\) \(1 problem in $((N + 1)) entries" \
	kipctl audit verify
kip_stop

tampered "a citizen id made NULL is found (NULL is not 0)" \
	"broken at entry $MID: content changed" \
	"UPDATE audit SET citizen_id = NULL, plan_id = NULL WHERE id = $MID"
kip_stop

tampered "a deleted entry is found as a gap at its id" \
	"broken at entry $MID: entry deleted \(a gap in the ids\) \(1 problem in $((N - 1)) entries" \
	"DELETE FROM audit WHERE id = $MID"
kip_stop

tampered "deleted entries are named as a range" \
	"broken at entry $MID: entries $MID to $((MID + 2)) deleted" \
	"DELETE FROM audit WHERE id BETWEEN $MID AND $((MID + 2))"
kip_stop

# forged ID: an INSERT of a made-up entry with a made-up hash.
forged() {
	echo "INSERT INTO audit (id, at, os_user, uid, role, action, outcome,
	  citizen_id, plan_id, object, hash)
	  VALUES ($1, '2026-11-01T12:00:00Z', 'daemon', 1, 'coordinator',
	  'citizen.show', 'ok', $C, NULL, NULL, '$(printf 'ab%.0s' {1..32})');"
}
tampered "a deleted entry with the later ids moved down is found" \
	"broken at entry $MID: chain break: an entry before it was deleted and the entries from here on renumbered \(1 problem in $((N - 1)) entries" \
	"DELETE FROM audit WHERE id = $MID;
	 UPDATE audit SET id = -id WHERE id > $MID;
	 UPDATE audit SET id = -id - 1 WHERE id < 0"
kip_stop

# Inserting in the middle means moving the later ids up by one (ids are
# part of each hash), then writing the forged entry.
tampered "a forged entry inserted in the middle is found at its id" \
	"broken at entry $MID: entry inserted: not in the chain, and the entries after it renumbered \(1 problem in $((N + 1)) entries" \
	"UPDATE audit SET id = -id WHERE id >= $MID;
	 UPDATE audit SET id = 1 - id WHERE id < 0;
	 $(forged $MID)"
kip_stop

tampered "a forged entry in a deleted entry's place is found" \
	"broken at entry $MID: chain break: entry replaced .*\(2 problems in $N entries; also at $((MID + 1))" \
	"DELETE FROM audit WHERE id = $MID; $(forged $MID)"
kip_stop

tampered "a forged entry appended with a made-up hash is found" \
	"broken at entry $((N + 1)): hash mismatch: the last entry was changed, or forged and appended" \
	"$(forged $((N + 1)))"
kip_stop

tampered "an entry appended without a hash is found" \
	"broken at entry $((N + 1)): no hash: inserted behind" \
	"INSERT INTO audit (at, os_user, uid, role, action, outcome, citizen_id)
	 VALUES ('2026-11-01T12:00:00Z', 'daemon', 1, 'coordinator', 'citizen.show', 'ok', $C)"
kip_stop

tampered "a replaced hash is found" \
	"broken at entry $MID: hash replaced or forged: not a SHA-256 digest \(1 problem in" \
	"UPDATE audit SET hash = 'not a hash' WHERE id = $MID"
kip_stop

tampered "several problems are counted and the next ones named" \
	"broken at entry 3: content changed .*\(3 problems in $((N - 1)) entries; also at $MID, $((N - 1))" \
	"UPDATE audit SET os_user = 'bin' WHERE id = 3;
	 DELETE FROM audit WHERE id = $MID;
	 UPDATE audit SET os_user = 'bin' WHERE id = $((N - 1))"
kip_stop

# What the chain alone cannot show: an attacker who knows the format and
# rehashes everything after a change. The head, kept elsewhere, shows it.
restore
drop_guards
sql "UPDATE audit SET action = 'citizen.list' WHERE id = $MID"
chain rehash >/dev/null
kip_start
V=$(verify_json)
check_eq "a trail rehashed after a change verifies (the chain has no secret)" "true" "$(jq -r .ok <<<"$V")"
check "but its head differs from the head recorded before" test "$(jq -r .head.hash <<<"$V")" != "$HEAD"
kip_stop

restore
kip_start
check_out "the untouched copy verifies" "ok: +yes" kipctl audit verify
check_alive
t_done
