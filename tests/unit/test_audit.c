/* test_audit.c — the audit trail's hash chain, its guards and
 * audit.verify, on real store files without kipd.
 *
 * Entries are written through audit_add() with a made-up caller and read
 * back through the audit.verify handler; tampering goes through SQLite
 * directly after the triggers are dropped, as someone with the file could.
 */
#include "audit.h"
#include "cmd.h"
#include "log.h"
#include "store.h"
#include "t.h"

#include <ftw.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/kip-test-audit-XXXXXX";
static int tmpdir_made;

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh store NAME in the temporary directory, with the guards. */
static struct store *open_store(const char *name)
{
	struct store *st = NULL;
	char path[128], err[256] = "";

	if (!tmpdir_made) {
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
		tmpdir_made = 1;
		atexit(cleanup);
		log_set_level(LOG_CRIT); /* problems are logged as warnings */
	}
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (store_open(path, &st, err, sizeof(err)) < 0) {
		printf("  store_open %s: %s\n", name, err);
		T_ASSERT(0);
		return NULL;
	}
	T_ASSERT(audit_install_guards(st) == 0);
	return st;
}

static const struct caller karen = {
    .uid = 1, .user = "daemon", .role = ROLE_COORDINATOR};

static struct cmd_ctx ctx(struct store *st)
{
	return (struct cmd_ctx){.st = st, .who = &karen};
}

/* N entries in one transaction, with every mix of NULL and value. */
static void add_entries(struct store *st, int n)
{
	struct cmd_ctx c = ctx(st);
	char object[32];
	int bad = 0;

	T_ASSERT(store_begin(st) == 0);
	for (int i = 0; i < n; i++) {
		snprintf(object, sizeof(object), "meeting:%d", i);
		const char *obj = i % 6 ? object : i % 12 ? "" : NULL;

		bad += audit_add(&c, i % 2 ? "citizen.show" : "plan.show",
				 i % 5 ? "ok" : "refused:forbidden", i % 3,
				 i % 4, obj) < 0;
	}
	T_ASSERT(bad == 0);
	T_ASSERT(store_commit(st) == 0);
}

/* Runs audit.verify: 0 with *ret_result, or -1 with the message. */
static int verify(struct store *st, json_t **ret_result, char *msg, size_t n)
{
	struct cmd_ctx c = ctx(st);
	int r = cmd_audit_verify(&c);

	snprintf(msg, n, "%s", c.err_code ? c.err : "");
	if (r == 0)
		*ret_result = c.result;
	else
		json_decref(c.result);
	return r;
}

static int sql(struct store *st, const char *s)
{
	return sqlite3_exec(store_db(st), s, NULL, NULL, NULL) == SQLITE_OK
		   ? 0
		   : -1;
}

static void drop_guards(struct store *st)
{
	T_ASSERT(sql(st, "DROP TRIGGER audit_no_update;"
			 "DROP TRIGGER audit_no_delete;"
			 "DROP TRIGGER audit_hash_required;") == 0);
}

static void test_empty_trail_verifies(void)
{
	struct store *st = open_store("empty.db");
	json_t *res = NULL;
	char msg[512];

	if (!st)
		return;
	T_ASSERT(verify(st, &res, msg, sizeof(msg)) == 0);
	T_ASSERT(json_integer_value(json_object_get(res, "entries")) == 0);
	T_ASSERT(json_is_true(json_object_get(res, "ok")));
	T_ASSERT(json_is_null(
	    json_object_get(json_object_get(res, "head"), "hash")));
	json_decref(res);
	store_close(st);
}

static void test_chain_verifies(void)
{
	struct store *st = open_store("chain.db");
	json_t *res = NULL;
	char msg[512];
	int64_t nulls = 0;

	if (!st)
		return;
	add_entries(st, 60);
	T_ASSERT(verify(st, &res, msg, sizeof(msg)) == 0);
	T_ASSERT(json_integer_value(json_object_get(res, "entries")) == 60);
	T_ASSERT(json_integer_value(json_object_get(res, "unchained")) == 0);
	T_ASSERT(json_integer_value(json_object_get(
		     json_object_get(res, "head"), "id")) == 60);
	T_ASSERT(json_array_size(json_object_get(res, "problems")) == 0);
	/* 0 and "" are stored as NULL, and hashed as stored. */
	T_ASSERT(store_int(st, &nulls,
			   "SELECT count(*) FROM audit WHERE"
			   " object IS NULL AND citizen_id IS NULL",
			   NULL) == 0 &&
		 nulls > 0);
	json_decref(res);
	store_close(st);
}

static void test_guards_refuse(void)
{
	struct store *st = open_store("guards.db");
	json_t *res = NULL;
	char msg[512];

	if (!st)
		return;
	add_entries(st, 5);
	T_ASSERT(sql(st, "UPDATE audit SET action = 'x' WHERE id = 2") < 0);
	T_CONTAINS(sqlite3_errmsg(store_db(st)), "append-only");
	T_ASSERT(sql(st, "UPDATE audit SET hash = NULL WHERE id = 2") < 0);
	T_ASSERT(sql(st, "DELETE FROM audit WHERE id = 5") < 0);
	T_ASSERT(sql(st, "DELETE FROM audit") < 0);
	T_ASSERT(sql(st,
		     "INSERT INTO audit (at, os_user, uid, role, action,"
		     " outcome) VALUES ('t', 'u', 0, 'admin', 'a', 'ok')") < 0);
	T_ASSERT(verify(st, &res, msg, sizeof(msg)) == 0);
	json_decref(res);
	/* Installing again (every start) keeps them, and replaces a no-op. */
	T_ASSERT(sql(st, "DROP TRIGGER audit_no_delete;"
			 "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
			 " BEGIN SELECT 1; END;") == 0);
	T_ASSERT(audit_install_guards(st) == 0);
	T_ASSERT(sql(st, "DELETE FROM audit WHERE id = 5") < 0);
	store_close(st);
}

struct tamper {
	const char *sql;
	const char *expect; /* in the error message */
};

static void test_tampering_is_named(void)
{
	static const struct tamper cases[] = {
	    {"UPDATE audit SET action = 'plan.list' WHERE id = 10",
	     "broken at entry 10: content changed"},
	    {"UPDATE audit SET object = '' WHERE id = 1",
	     "broken at entry 1: content changed"},
	    {"UPDATE audit SET uid = '1x' WHERE id = 4",
	     "broken at entry 4: content changed"},
	    {"UPDATE audit SET at = X'00' WHERE id = 4",
	     "broken at entry 4: content changed"},
	    {"DELETE FROM audit WHERE id = 10",
	     "broken at entry 10: entry deleted"},
	    {"UPDATE audit SET action = 'plan.list' WHERE id = 10;"
	     "DELETE FROM audit WHERE id = 11",
	     "broken at entry 10: content changed or entry replaced (hash "
	     "mismatch) (2 problems in 19 entries; also at 11;"},
	    {"UPDATE audit SET hash = 'x' WHERE id = 10;"
	     "DELETE FROM audit WHERE id = 12",
	     "broken at entry 10: hash replaced or forged: not a SHA-256 "
	     "digest (2 problems in 19 entries; also at 12;"},
	    {"UPDATE audit SET hash = 'x' WHERE id = 10",
	     "broken at entry 10: hash replaced or forged: not a SHA-256 "
	     "digest (1 problem in 20 entries;"},
	    {"UPDATE audit SET action = 'plan.list' WHERE id = 10;"
	     "UPDATE audit SET action = 'plan.list' WHERE id = 11",
	     "broken at entry 10: chain break: entry replaced"},
	    {"UPDATE audit SET id = -id WHERE id >= 10;"
	     "UPDATE audit SET id = 1 - id WHERE id < 0;"
	     "INSERT INTO audit (id, at, os_user, uid, role, action,"
	     " outcome, hash) VALUES (10, 't', 'u', 0, 'admin', 'a', 'ok',"
	     " '0000000000000000000000000000000000000000000000000000000000"
	     "000000')",
	     "broken at entry 10: entry inserted: not in the chain, and "
	     "the entries after it renumbered (1 problem in 21 entries;"},
	    {"DELETE FROM audit WHERE id = 1",
	     "broken at entry 1: entry deleted"},
	    {"DELETE FROM audit WHERE id = 10;"
	     "UPDATE audit SET id = -id WHERE id > 10;"
	     "UPDATE audit SET id = -id - 1 WHERE id < 0",
	     "broken at entry 10: chain break: an entry before it was "
	     "deleted"},
	    {"UPDATE audit SET id = -id WHERE id >= 10;"
	     "UPDATE audit SET id = 1 - id WHERE id < 0;"
	     "INSERT INTO audit (id, at, os_user, uid, role, action,"
	     " outcome) VALUES (10, 't', 'u', 0, 'admin', 'a', 'ok')",
	     "broken at entry 10: no hash: inserted behind kipd's back, "
	     "or its hash removed (2 problems in 21 entries; also at "
	     "11"},
	    {"UPDATE audit SET hash = NULL WHERE id = 20",
	     "broken at entry 20: no hash: inserted behind"},
	    {"INSERT INTO audit (id, at, os_user, uid, role, action,"
	     " outcome, hash) VALUES (-1, 't', 'u', 0, 'admin', 'a', 'ok',"
	     " 'ab')",
	     "broken at entry -1: entry inserted: its id is out of"},
	};
	char name[32], msg[512];
	json_t *res = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store *st;

		snprintf(name, sizeof(name), "tamper%zu.db", i);
		if (!(st = open_store(name)))
			return;
		add_entries(st, 20);
		drop_guards(st);
		if (sql(st, cases[i].sql) < 0) {
			printf("  case %zu: %s\n", i,
			       sqlite3_errmsg(store_db(st)));
			T_ASSERT(0);
		}
		res = NULL;
		T_ASSERT(verify(st, &res, msg, sizeof(msg)) < 0);
		T_CONTAINS(msg, cases[i].expect);
		json_decref(res);
		store_close(st);
	}
}

/* Entries from before schema 3 (no hash) come first; the chain starts at
 * the first hashed entry, and new entries chain on from the last hash
 * even when it is not the last entry's. */
static void test_unchained_start(void)
{
	struct store *st = open_store("legacy.db");
	json_t *res = NULL;
	char msg[512];

	if (!st)
		return;
	drop_guards(st);
	T_ASSERT(sql(st, "INSERT INTO audit (at, os_user, uid, role, action,"
			 " outcome) VALUES ('t', 'u', 0, 'admin', 'a', 'ok'),"
			 " ('t', 'u', 0, 'admin', 'b', 'ok')") == 0);
	T_ASSERT(audit_install_guards(st) == 0);
	add_entries(st, 7);
	T_ASSERT(verify(st, &res, msg, sizeof(msg)) == 0);
	T_ASSERT(json_integer_value(json_object_get(res, "entries")) == 9);
	T_ASSERT(json_integer_value(json_object_get(res, "unchained")) == 2);
	json_decref(res);
	store_close(st);
}

/* One of each: the report lists them and the message counts them. */
static void test_many_problems_are_capped(void)
{
	struct store *st = open_store("many.db");
	json_t *res = NULL;
	char msg[512];

	if (!st)
		return;
	add_entries(st, 200);
	drop_guards(st);
	T_ASSERT(sql(st, "UPDATE audit SET outcome = 'ok!' WHERE id % 3 = 0") ==
		 0);
	T_ASSERT(verify(st, &res, msg, sizeof(msg)) < 0);
	T_CONTAINS(msg, "broken at entry 3: content changed");
	T_CONTAINS(msg, "66 problems in 200 entries; also at 6, 9, 12, 15, "
			"18, …");
	store_close(st);
}

/* Not a benchmark: a guard against a slow path creeping in. */
static void test_speed(void)
{
	struct store *st = open_store("speed.db");
	struct timespec t0, t1, t2;
	json_t *res = NULL;
	char msg[512];
	double add_ms, verify_ms;

	if (!st)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	add_entries(st, 20000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	T_ASSERT(verify(st, &res, msg, sizeof(msg)) == 0);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	add_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		 (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	verify_ms = (double)(t2.tv_sec - t1.tv_sec) * 1e3 +
		    (double)(t2.tv_nsec - t1.tv_nsec) / 1e6;
	printf("  20000 entries: audit_add %.1f µs each, verify %.2f µs "
	       "each\n",
	       add_ms * 1e3 / 20000, verify_ms * 1e3 / 20000);
	T_ASSERT(json_integer_value(json_object_get(res, "entries")) == 20000);
	T_ASSERT(add_ms < 20000 && verify_ms < 10000); /* even under ASan */
	json_decref(res);
	store_close(st);
}

T_MAIN(T_CASE(test_empty_trail_verifies), T_CASE(test_chain_verifies),
       T_CASE(test_guards_refuse), T_CASE(test_tampering_is_named),
       T_CASE(test_unchained_start), T_CASE(test_many_problems_are_capped),
       T_CASE(test_speed))
