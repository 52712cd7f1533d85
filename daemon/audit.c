/* audit.c — the audit trail: who did what to which citizen's data, and
 * when. Entries carry ids only; they are never changed or deleted.
 *
 * The chain. Every entry kipd writes carries
 *
 *     hash = hex(SHA-256(prev || canonical(entry)))
 *
 * prev is the stored hash of the chained entry before it (the entry with
 * the greatest id whose hash is not NULL), as its 64 ASCII characters, or
 * 64 '0' for the first chained entry. Entries written before schema 3 have
 * no hash: the chain starts at the first entry that has one, with prev =
 * 64 '0', and audit.verify counts the entries before it as "unchained"
 * (their ids are still checked for gaps). hex is lowercase.
 *
 * canonical(entry) is the columns id, at, os_user, uid, role, action,
 * outcome, citizen_id, plan_id, object, in that order, each as
 *     NULL     'N'
 *     integer  'I', the value as 8 bytes big-endian (two's complement)
 *     text     'T', the length in bytes as 8 bytes big-endian, the bytes
 *     other    'B', length, bytes (kipd never writes one; a tampered row
 *              might hold a REAL or a BLOB)
 * so NULL differs from "", 7 from "7", and no two entries share one.
 *
 * audit_write reads the greatest id and the last hash (both one step down
 * the primary key) and inserts the entry with id = max(id) + 1 and its
 * hash in one statement: no UPDATE ever touches the table, so the guards
 * refuse every UPDATE. The caller holds the request's BEGIN IMMEDIATE
 * transaction, and kipd is the database's only writer (store.c's lock),
 * so nothing comes between the read and the insert.
 *
 * What the chain shows: a changed entry, a deleted one and an inserted one
 * anywhere but at the end, found by audit.verify. What it cannot show
 * alone: someone who can write the file can recompute every hash after a
 * change (the chain holds no secret), or cut entries off the end. A copy
 * of the head (the last id and hash, which audit.verify reports) kept
 * outside the database is what catches those.
 */
#include "audit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "buf.h"
#include "caller.h"
#include "config.h"
#include "log.h"
#include "store.h"

#define HASH_LEN 64	/* hex characters of a SHA-256 digest */
#define MAX_PROBLEMS 20 /* listed; more are only counted */
#define ZERO_HASH                                                              \
	"00000000000000000000000000000000"                                     \
	"00000000000000000000000000000000"

/* ---- the hash ------------------------------------------------------ */

enum {
	F_ID,
	F_AT,
	F_OS_USER,
	F_UID,
	F_ROLE,
	F_ACTION,
	F_OUTCOME,
	F_CITIZEN,
	F_PLAN,
	F_OBJECT,
	N_FIELDS
};

/* One column of an entry, as SQLite holds it. */
struct field {
	char type;     /* 'N', 'I', 'T' or 'B', as above */
	int64_t i;     /* 'I' */
	const void *p; /* 'T', 'B': n bytes */
	size_t n;
};

/* The previous hash as it enters the next one: the stored text up to its
 * first NUL, at most HASH_LEN bytes. audit_add and audit.verify must
 * agree on this even for a tampered (malformed) hash. */
struct link {
	char b[HASH_LEN];
	size_t n;
};

static void link_set(struct link *l, const char *stored)
{
	l->n = strnlen(stored, HASH_LEN);
	memcpy(l->b, stored, l->n);
}

static bool hash_wellformed(const unsigned char *s, size_t n)
{
	if (n != HASH_LEN)
		return false;
	for (size_t k = 0; k < n; k++)
		if (!((s[k] >= '0' && s[k] <= '9') ||
		      (s[k] >= 'a' && s[k] <= 'f')))
			return false;
	return true;
}

static int put_be64(EVP_MD_CTX *md, uint64_t v)
{
	unsigned char b[8];

	for (int k = 7; k >= 0; k--, v >>= 8)
		b[k] = (unsigned char)(v & 0xff);
	return EVP_DigestUpdate(md, b, sizeof(b));
}

/* ret = hex(SHA-256(prev || canonical(f))). 0, or -EIO (logged). */
static int chain_hash(EVP_MD_CTX *md, const struct link *prev,
		      const struct field f[N_FIELDS], char ret[HASH_LEN + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dn = 0;
	int ok;

	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, prev->b, prev->n);
	for (int k = 0; ok && k < N_FIELDS; k++) {
		unsigned char t = (unsigned char)f[k].type;

		ok = EVP_DigestUpdate(md, &t, 1);
		if (t == 'I')
			ok = ok && put_be64(md, (uint64_t)f[k].i);
		else if (t != 'N')
			ok = ok && put_be64(md, f[k].n) &&
			     EVP_DigestUpdate(md, f[k].p, f[k].n);
	}
	ok = ok && EVP_DigestFinal_ex(md, d, &dn) && dn * 2 == HASH_LEN;
	if (!ok) {
		log_err("audit: SHA-256 failed: %s",
			ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		return -EIO;
	}
	hex_encode(d, dn, ret);
	return 0;
}

static struct field f_int(int64_t v)
{
	return (struct field){.type = 'I', .i = v};
}

/* An integer where 0 is stored as NULL (NULLIF(?, 0)). */
static struct field f_id(int64_t v)
{
	return v ? f_int(v) : (struct field){.type = 'N'};
}

static struct field f_text(const char *s)
{
	return s ? (struct field){.type = 'T', .p = s, .n = strlen(s)}
		 : (struct field){.type = 'N'};
}

/* ---- writing --------------------------------------------------------- */

int audit_write(struct store *st, const struct caller *who, const char *action,
		const char *outcome, int64_t citizen_id, int64_t plan_id,
		const char *object)
{
	char now[32], hash[HASH_LEN + 1], *last = NULL;
	struct field f[N_FIELDS];
	struct link prev;
	EVP_MD_CTX *md;
	int64_t id = 0;
	int r;

	if (object && !*object)
		object = NULL; /* stored as NULL, hashed as NULL */
	r = store_int(st, &id, "SELECT coalesce(max(id), 0) FROM audit", NULL);
	if (r < 0)
		return r;
	r = store_text(st, &last,
		       "SELECT hash FROM audit WHERE hash IS NOT NULL"
		       " ORDER BY id DESC LIMIT 1",
		       NULL);
	if (r < 0 && r != -ENOENT)
		return r;
	link_set(&prev, last ? last : ZERO_HASH);
	free(last);

	store_now(now);
	id++;
	f[F_ID] = f_int(id);
	f[F_AT] = f_text(now);
	f[F_OS_USER] = f_text(who->user);
	f[F_UID] = f_int((int64_t)who->uid);
	f[F_ROLE] = f_text(role_name(who->role));
	f[F_ACTION] = f_text(action);
	f[F_OUTCOME] = f_text(outcome);
	f[F_CITIZEN] = f_id(citizen_id);
	f[F_PLAN] = f_id(plan_id);
	f[F_OBJECT] = f_text(object);
	md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	r = chain_hash(md, &prev, f, hash);
	EVP_MD_CTX_free(md);
	if (r < 0)
		return r;
	r = store_exec(st,
		       "INSERT INTO audit (id, at, os_user, uid, role, action,"
		       " outcome, citizen_id, plan_id, object, hash)"
		       " VALUES (?, ?, ?, ?, ?, ?, ?, NULLIF(?, 0),"
		       " NULLIF(?, 0), ?, ?)",
		       "ississsiiss", id, now, who->user, (int64_t)who->uid,
		       role_name(who->role), action, outcome, citizen_id,
		       plan_id, object, hash);
	return r < 0 ? r : 0;
}

/* ---- the guards ------------------------------------------------------ */

int audit_install_guards(struct store *st)
{
	/* Dropped and created again on every start, so that the definitions
	 * are this build's even if someone replaced a trigger with a no-op
	 * of the same name. DROP TABLE does not fire them: a future migration
	 * that rebuilds the table must copy every row and its hash. */
	static const char sql[] =
	    "BEGIN IMMEDIATE;"
	    "DROP TRIGGER IF EXISTS audit_no_update;"
	    "DROP TRIGGER IF EXISTS audit_no_delete;"
	    "DROP TRIGGER IF EXISTS audit_hash_required;"
	    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	    " BEGIN SELECT RAISE(ABORT, 'audit entries are append-only:"
	    " no UPDATE'); END;"
	    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	    " BEGIN SELECT RAISE(ABORT, 'audit entries are append-only:"
	    " no DELETE'); END;"
	    "CREATE TRIGGER audit_hash_required BEFORE INSERT ON audit"
	    " WHEN NEW.hash IS NULL OR length(NEW.hash) <> 64"
	    " BEGIN SELECT RAISE(ABORT, 'audit entries are written by kipd,"
	    " with their hash'); END;"
	    "COMMIT;";
	sqlite3 *db = store_db(st);
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("audit: cannot install the append-only triggers: %s",
			msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

/* ---- audit.verify ---------------------------------------------------- */

/*
 * The walk over the table, one row at a time in id order. Each row is
 * checked three ways:
 *   - its id follows the previous one (ids are max + 1, so a gap is a
 *     deletion; the break in the chain that follows is put down to it);
 *   - once the chain has started, it has a hash;
 *   - the hash matches prev and its content.
 * A row whose hash does not match is held back ("suspect") until the next
 * row shows what happened to it:
 *   next links to the suspect's hash        → the suspect's content changed
 *   next links to the hash before it        → the suspect was inserted
 *   …and only with its id one lower         → inserted, the rest renumbered
 *   next links to the suspect, id one higher → an entry before the suspect
 *                                             was deleted, the rest
 *                                             renumbered
 *   none of these                           → the chain breaks at the
 *                                             suspect (the next row is
 *                                             reported as not linking)
 * A suspect whose hash is not even a SHA-256 digest is reported as such,
 * and the next row's break put down to it.
 * A suspect that is the last row was changed or appended with a forged
 * hash; nothing can tell which. "shift" is how far ids have been moved by
 * renumbering found so far; canonical() uses id - shift.
 */
struct verify {
	EVP_MD_CTX *md;
	int64_t entries, unchained, last_id, shift, problems;
	bool started;
	struct link prev, before; /* stored hashes of the last two chained */
	bool suspect;
	bool suspect_malformed;
	int64_t suspect_id;
	int64_t head_id;
	char head[HASH_LEN + 1];
	int64_t first_id; /* the problem with the lowest id, for the reply */
	size_t first_idx; /* its place in list */
	char first[200];
	json_t *list; /* up to MAX_PROBLEMS {id, problem} */
};

static void problem(struct verify *v, int64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(struct verify *v, int64_t id, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A suspect is reported one row late, perhaps after a gap found
	 * further on: the first problem is the one with the lowest id. */
	if (v->problems == 0 || id < v->first_id) {
		v->first_id = id;
		v->first_idx = json_array_size(v->list);
		snprintf(v->first, sizeof(v->first), "%s", msg);
	}
	if (++v->problems <= MAX_PROBLEMS) {
		log_warn("audit: entry %" PRId64 ": %s", id, msg);
		json_array_append_new(v->list, json_pack("{s:I, s:s}", "id",
							 (json_int_t)id,
							 "problem", msg));
	}
}

static void read_fields(sqlite3_stmt *s, struct field f[N_FIELDS])
{
	for (int k = 0; k < N_FIELDS; k++) {
		switch (sqlite3_column_type(s, k)) {
		case SQLITE_NULL:
			f[k] = (struct field){.type = 'N'};
			break;
		case SQLITE_INTEGER:
			f[k] = f_int(sqlite3_column_int64(s, k));
			break;
		case SQLITE_TEXT:
			f[k] = (struct field){
			    .type = 'T',
			    .p = sqlite3_column_text(s, k),
			    .n = (size_t)sqlite3_column_bytes(s, k)};
			break;
		default:
			f[k] = (struct field){
			    .type = 'B',
			    .p = sqlite3_column_blob(s, k),
			    .n = (size_t)sqlite3_column_bytes(s, k)};
			break;
		}
	}
}

/* Whether the row's hash is hash(prev, its content with id - shift - d).
 * -EIO when hashing failed. */
static int links(struct verify *v, struct field f[N_FIELDS], int64_t id,
		 int64_t d, const struct link *prev, const char *stored)
{
	char got[HASH_LEN + 1];
	int r;

	f[F_ID] = f_int(id - v->shift - d);
	r = chain_hash(v->md, prev, f, got);
	if (r < 0)
		return r;
	return strcmp(got, stored) == 0;
}

/* Settles the suspect (the row before this one) by how this row links.
 * Returns 1 when this row links (by one of the explanations), 0 when it
 * does not, -EIO. */
static int settle_suspect(struct verify *v, struct field f[N_FIELDS],
			  int64_t id, const char *stored)
{
	int64_t sid = v->suspect_id;
	int r;

	v->suspect = false;
	if (v->suspect_malformed) {
		/* Nothing links to it; this row's break is put down to it. */
		problem(v, sid,
			"hash replaced or forged: not a SHA-256 digest");
		return 1;
	}
	if ((r = links(v, f, id, 0, &v->prev, stored)) != 0) {
		if (r > 0)
			problem(v, sid, "content changed (hash mismatch)");
		return r;
	}
	if ((r = links(v, f, id, 0, &v->before, stored)) != 0) {
		if (r > 0) {
			problem(v, sid,
				"entry inserted: not in the chain "
				"(entry %" PRId64 " links past it)",
				id);
			v->prev = v->before; /* the chain skips it */
		}
		return r;
	}
	if ((r = links(v, f, id, 1, &v->before, stored)) != 0) {
		if (r > 0) {
			problem(v, sid,
				"entry inserted: not in the chain, and "
				"the entries after it renumbered");
			v->prev = v->before;
			v->shift++;
		}
		return r;
	}
	if ((r = links(v, f, id, -1, &v->prev, stored)) != 0) {
		if (r > 0) {
			problem(v, sid,
				"chain break: an entry before it was "
				"deleted and the entries from here on "
				"renumbered");
			v->shift--;
		}
		return r;
	}
	problem(v, sid,
		"chain break: entry replaced (its hash fits neither "
		"its content nor the next entry), or entries inserted "
		"or deleted here");
	problem(v, id, "chain break: does not link to entry %" PRId64, sid);
	return 1; /* put down to the suspect; go on from this row */
}

static int verify_row(struct verify *v, sqlite3_stmt *s)
{
	struct field f[N_FIELDS];
	const unsigned char *h;
	size_t hn;
	int64_t id = sqlite3_column_int64(s, F_ID);
	bool gap = false;
	int r;

	v->entries++;
	if (id > v->last_id + 1) {
		if (id == v->last_id + 2)
			problem(v, v->last_id + 1,
				"entry deleted (a gap in "
				"the ids)");
		else
			problem(v, v->last_id + 1,
				"entries %" PRId64 " to %" PRId64
				" deleted (a gap in the ids)",
				v->last_id + 1, id - 1);
		gap = true;
	} else if (id <= v->last_id) { /* only a first id <= 0 */
		problem(v, id, "entry inserted: its id is out of sequence");
	}
	if (id > v->last_id)
		v->last_id = id;
	if (sqlite3_column_type(s, N_FIELDS) == SQLITE_NULL) {
		if (v->started)
			problem(v, id,
				"no hash: inserted behind kipd's back, "
				"or its hash removed");
		else
			v->unchained++;
		return 0;
	}
	h = sqlite3_column_text(s, N_FIELDS);
	hn = (size_t)sqlite3_column_bytes(s, N_FIELDS);
	if (!h)
		return -ENOMEM;
	if (!v->started) {
		v->started = true;
		link_set(&v->prev, ZERO_HASH);
	}
	read_fields(s, f);
	if (v->suspect && gap) { /* the row that could tell is gone */
		v->suspect = false;
		problem(v, v->suspect_id, "%s",
			v->suspect_malformed
			    ? "hash replaced or forged: not a SHA-256 "
			      "digest"
			    : "content changed or entry replaced (hash "
			      "mismatch)");
	}
	if (v->suspect)
		r = settle_suspect(v, f, id, (const char *)h);
	else
		r = links(v, f, id, 0, &v->prev, (const char *)h);
	if (r < 0)
		return r;
	/* A row that does not link after a gap is explained by the gap. */
	if (r == 0 && !gap) {
		/* Perhaps only its id moved: an entry without a hash was
		 * inserted before it and the rest renumbered. */
		r = links(v, f, id, 1, &v->prev, (const char *)h);
		if (r < 0)
			return r;
		if (r > 0) {
			problem(v, id,
				"renumbered: an entry was inserted "
				"before it");
			v->shift++;
		} else {
			v->suspect = true;
			v->suspect_id = id;
			v->suspect_malformed = !hash_wellformed(h, hn);
		}
	}
	v->before = v->prev;
	link_set(&v->prev, (const char *)h);
	v->head_id = id;
	snprintf(v->head, sizeof(v->head), "%.*s", (int)v->prev.n, v->prev.b);
	return 0;
}

/* Walks the table with one statement: memory stays flat however long the
 * trail. 0, or a negative errno (logged). */
static int verify_walk(struct store *st, struct verify *v)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int r = 0, rc;

	rc = sqlite3_prepare_v2(db,
				"SELECT id, at, os_user, uid, role, action,"
				" outcome, citizen_id, plan_id, object, hash"
				" FROM audit ORDER BY id",
				-1, &s, NULL);
	while (rc == SQLITE_OK && r == 0 &&
	       (rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = verify_row(v, s);
		rc = SQLITE_OK;
	}
	if (r == 0 && rc != SQLITE_DONE) {
		log_err("audit: reading the trail: %s", sqlite3_errmsg(db));
		r = -EIO;
	}
	sqlite3_finalize(s);
	if (r == 0 && v->suspect) {
		v->suspect = false;
		problem(v, v->suspect_id,
			"%shash mismatch: the last entry was "
			"changed, or forged and appended",
			v->suspect_malformed ? "malformed " : "");
	}
	return r;
}

int audit_verify(struct store *st, json_t **ret)
{
	struct verify v = {0};
	int r;

	*ret = NULL;
	v.md = EVP_MD_CTX_new();
	v.list = json_array();
	if (!v.md || !v.list) {
		r = -ENOMEM;
		goto out;
	}
	r = verify_walk(st, &v);
	if (r < 0)
		goto out;
	log_notice("audit: verified %" PRId64 " entries (%" PRId64
		   " before the chain), %" PRId64 " problems",
		   v.entries, v.unchained, v.problems);
	*ret = json_pack(
	    "{s:I, s:I, s:I, s:O, s:{s:I, s:s?},"
	    " s:{s:I, s:s, s:I}}",
	    "entries", (json_int_t)v.entries, "unchained",
	    (json_int_t)v.unchained, "problems", (json_int_t)v.problems, "list",
	    v.list, "head", "id", (json_int_t)v.head_id, "hash",
	    v.started ? v.head : NULL, "first", "id", (json_int_t)v.first_id,
	    "problem", v.first, "index", (json_int_t)v.first_idx);
	r = *ret ? 0 : -ENOMEM;
out:
	EVP_MD_CTX_free(v.md);
	json_decref(v.list);
	return r;
}
