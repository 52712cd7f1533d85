/* test_store.c — store_open, the schema migrations and the query helpers.
 *
 * Each test works on its own database file in one temporary directory
 * (removed at exit). The helpers cache statements by the address of the
 * SQL text, so every query here is a string literal at one place in the
 * source. The citizen data is fictional; the CPR numbers have dates of
 * birth in the future (2050), so they belong to no one.
 */
#include "store.h"
#include "log.h"
#include "t.h"

#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/kip-test-store-XXXXXX";
static int tmpdir_made;
static char err[512];

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

/* The path of name in the temporary directory, created on first use. */
static const char *tpath(const char *name)
{
	static char paths[4][128];
	static int next;
	char *p = paths[next++ % 4];

	if (!tmpdir_made) {
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
		tmpdir_made = 1;
		atexit(cleanup);
		log_set_level(LOG_WARNING); /* no "migrated" notices */
	}
	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	return p;
}

/* Opens name in the temporary directory; NULL (and a failure) if not. */
static struct store *open_store(const char *name)
{
	struct store *st = NULL;
	int r;

	err[0] = '\0';
	r = store_open(tpath(name), &st, err, sizeof(err));
	if (r < 0)
		printf("  store_open %s: %d %s\n", name, r, err);
	T_ASSERT(r == 0 && st);
	return r == 0 ? st : NULL;
}

/* The first column of the first row of sql, as text, into out ("" when
 * there is no row, "(null)" for NULL). Returns the number of rows. */
static int query(sqlite3 *db, const char *sql, char *out, size_t n)
{
	sqlite3_stmt *s;
	int rows = 0;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
		printf("  prepare %s: %s\n", sql, sqlite3_errmsg(db));
		return -1;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		if (rows++ == 0)
			snprintf(out, n, "%s", t ? (const char *)t : "(null)");
	}
	sqlite3_finalize(s);
	return rows;
}

/* PRAGMA user_version of db, or -1. */
static int user_version(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* All of sqlite_master, one line per object, in name order: what a schema
 * is, for comparing two databases. */
static void schema_text(sqlite3 *db, char *out, size_t n)
{
	sqlite3_stmt *s;
	size_t len = 0;

	out[0] = '\0';
	if (sqlite3_prepare_v2(db,
			       "SELECT type || ' ' || name || ' ' || "
			       "coalesce(sql, '') FROM sqlite_master "
			       "ORDER BY name",
			       -1, &s, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(s) == SQLITE_ROW && len < n) {
		int w = snprintf(out + len, n - len, "%s\n",
				 (const char *)sqlite3_column_text(s, 0));

		len += w > 0 ? (size_t)w : 0;
	}
	sqlite3_finalize(s);
}

static int insert_citizen(struct store *st, const char *name, const char *cpr)
{
	return store_exec(st,
			  "INSERT INTO citizens (name, cpr, address, phone, "
			  "email, created_at, created_by) "
			  "VALUES (?, ?, ?, ?, ?, ?, ?)",
			  "sssssss", name, cpr, "Testvej 1, 9999 Testby",
			  "00000000", NULL, "2050-01-01T00:00:00Z", "tester");
}

static int64_t count_citizens(struct store *st)
{
	int64_t n = -1;

	T_ASSERT(store_int(st, &n, "SELECT count(*) FROM citizens", NULL) == 0);
	return n;
}

/* ---- open -------------------------------------------------------------- */

static void test_open_creates_private_file(void)
{
	const char *path = tpath("new.db");
	char lock[160], wal[160];
	struct store *st;
	struct stat sb;
	mode_t old;

	T_ASSERT(access(path, F_OK) < 0);
	old = umask(022);
	st = open_store("new.db");
	T_ASSERT(umask(old) == 022); /* store_open put the umask back */
	if (!st)
		return;
	T_ASSERT(stat(path, &sb) == 0 && S_ISREG(sb.st_mode));
	T_ASSERT((sb.st_mode & 07777) == 0600);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	T_ASSERT(stat(lock, &sb) == 0 && (sb.st_mode & 07777) == 0600);
	T_ASSERT(store_schema_version(st) == store_schema_latest());
	T_ASSERT(store_schema_latest() >= 1);

	/* the write-ahead log holds citizen data too */
	T_ASSERT(insert_citizen(st, "Test Borger", "010150-5123") == 1);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	T_ASSERT(stat(wal, &sb) == 0 && (sb.st_mode & 07777) == 0600);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	T_ASSERT(stat(wal, &sb) == 0 && (sb.st_mode & 07777) == 0600);
	store_close(st);

	/* a second open finds it at the latest version, data kept */
	st = open_store("new.db");
	if (!st)
		return;
	T_ASSERT(store_schema_version(st) == store_schema_latest());
	T_ASSERT(count_citizens(st) == 1);
	store_close(st);
}

static void test_pragmas(void)
{
	struct store *st = open_store("pragmas.db");
	char v[64];

	if (!st)
		return;
	T_ASSERT(query(store_db(st), "PRAGMA journal_mode", v, sizeof(v)) == 1);
	T_STREQ(v, "wal");
	T_ASSERT(query(store_db(st), "PRAGMA foreign_keys", v, sizeof(v)) == 1);
	T_STREQ(v, "1");
	T_ASSERT(query(store_db(st), "PRAGMA synchronous", v, sizeof(v)) == 1);
	T_STREQ(v, "2"); /* FULL */

	/* foreign keys are enforced, not just declared; a broken reference
	 * is a bug (-EINVAL), not a conflict */
	T_ASSERT(store_exec(st,
			    "INSERT INTO consents (citizen_id, scope, action, "
			    "date, recorded_by, recorded_at) "
			    "VALUES (999, 'plan', 'given', '2050-01-01', "
			    "'tester', '2050-01-01T00:00:00Z')",
			    NULL) == -EINVAL);
	store_close(st);
}

static void test_second_open_is_busy(void)
{
	struct store *st = open_store("busy.db");
	struct store *st2 = (struct store *)&err; /* must stay untouched */
	int r;

	if (!st)
		return;
	err[0] = '\0';
	r = store_open(tpath("busy.db"), &st2, err, sizeof(err));
	T_ASSERT(r == -EBUSY);
	T_CONTAINS(err, "in use");
	T_CONTAINS(err, "busy.db");
	T_ASSERT(st2 == (struct store *)&err);

	/* the first one still works, and closing it frees the lock */
	T_ASSERT(insert_citizen(st, "Test Borger", "010150-5123") == 1);
	store_close(st);
	st = open_store("busy.db");
	if (st)
		T_ASSERT(count_citizens(st) == 1);
	store_close(st);
}

/* ---- schema versions --------------------------------------------------- */

/* Every earlier schema, built by store_migrate, is taken to the latest by
 * store_open and ends up as a new database would be. */
static void test_migrate_from_every_version(void)
{
	static char fresh[16384], migrated[16384];
	int latest = store_schema_latest();
	struct store *st = open_store("fresh.db");

	if (!st)
		return;
	schema_text(store_db(st), fresh, sizeof(fresh));
	T_CONTAINS(fresh, "table citizens");
	store_close(st);

	for (int v = 0; v < latest; v++) {
		char name[32], out[64];
		sqlite3 *db = NULL;

		snprintf(name, sizeof(name), "from-v%d.db", v);
		T_ASSERT(
		    sqlite3_open_v2(tpath(name), &db,
				    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				    NULL) == SQLITE_OK);
		err[0] = '\0';
		if (store_migrate(db, v, err, sizeof(err)) != 0)
			printf("  store_migrate to %d: %s\n", v, err);
		T_ASSERT(user_version(db) == v);
		sqlite3_close(db);

		st = open_store(name);
		if (!st)
			continue;
		T_ASSERT(store_schema_version(st) == latest);
		T_ASSERT(query(store_db(st), "PRAGMA integrity_check", out,
			       sizeof(out)) == 1);
		T_STREQ(out, "ok");
		T_ASSERT(query(store_db(st), "PRAGMA foreign_key_check", out,
			       sizeof(out)) == 0);
		schema_text(store_db(st), migrated, sizeof(migrated));
		T_STREQ(migrated, fresh);
		store_close(st);
	}
}

static void test_newer_schema_refused(void)
{
	int newer = store_schema_latest() + 1;
	struct store *st = (struct store *)&err; /* must stay untouched */
	char sql[64], out[32];
	sqlite3 *db = NULL;
	int r;

	T_ASSERT(sqlite3_open(tpath("newer.db"), &db) == SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer);
	T_ASSERT(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);

	err[0] = '\0';
	r = store_open(tpath("newer.db"), &st, err, sizeof(err));
	T_ASSERT(r == -EPROTO);
	T_CONTAINS(err, "newer");
	T_ASSERT(st == (struct store *)&err);

	/* its schema untouched, and store_migrate says the same */
	T_ASSERT(sqlite3_open(tpath("newer.db"), &db) == SQLITE_OK);
	T_ASSERT(user_version(db) == newer);
	T_ASSERT(
	    query(db, "SELECT name FROM sqlite_master", out, sizeof(out)) == 0);
	err[0] = '\0';
	T_ASSERT(store_migrate(db, newer, err, sizeof(err)) == -EPROTO);
	T_CONTAINS(err, "newer");
	sqlite3_close(db);

	/* the lock was released with the refusal */
	T_ASSERT(sqlite3_open(tpath("newer.db"), &db) == SQLITE_OK);
	T_ASSERT(sqlite3_exec(db, "PRAGMA user_version = 0", NULL, NULL,
			      NULL) == SQLITE_OK);
	sqlite3_close(db);
	st = open_store("newer.db");
	store_close(st);
}

/* ---- query helpers ----------------------------------------------------- */

static void test_query_helpers(void)
{
	struct store *st = open_store("helpers.db");
	json_t *row = NULL, *rows = NULL, *sentinel = json_object();
	int64_t id, id2, n = -1;
	char *text = NULL;

	if (!st)
		return;
	T_ASSERT(insert_citizen(st, "Test Borger", "010150-5123") == 1);
	id = store_last_id(st);
	T_ASSERT(id > 0);

	/* store_row: the row as an object keyed by column name */
	T_ASSERT(store_row(st, &row,
			   "SELECT id, name, cpr, address, phone, email, "
			   "created_by FROM citizens WHERE id = ?",
			   "i", id) == 0);
	T_ASSERT(json_is_object(row));
	T_ASSERT(json_integer_value(json_object_get(row, "id")) == id);
	T_STREQ(json_string_value(json_object_get(row, "name")), "Test Borger");
	T_STREQ(json_string_value(json_object_get(row, "cpr")), "010150-5123");
	T_STREQ(json_string_value(json_object_get(row, "phone")), "00000000");
	T_STREQ(json_string_value(json_object_get(row, "created_by")),
		"tester");
	T_ASSERT(json_is_null(json_object_get(row, "email")));
	T_ASSERT(json_object_size(row) == 7);
	json_decref(row);

	/* store_int and store_text */
	T_ASSERT(store_int(st, &n, "SELECT id FROM citizens WHERE cpr = ?", "s",
			   "010150-5123") == 0);
	T_ASSERT(n == id);
	T_ASSERT(store_text(st, &text, "SELECT name FROM citizens WHERE id = ?",
			    "i", id) == 0);
	T_STREQ(text, "Test Borger");
	free(text);
	text = (char *)"sentinel";
	T_ASSERT(store_text(st, &text,
			    "SELECT email FROM citizens WHERE id = ?", "i",
			    id) == 0);
	T_ASSERT(text == NULL); /* a NULL column */

	/* -ENOENT without a row, outputs untouched */
	n = 42;
	T_ASSERT(store_int(st, &n, "SELECT id FROM citizens WHERE id = ?", "i",
			   (int64_t)999) == -ENOENT);
	T_ASSERT(n == 42);
	text = (char *)"sentinel";
	T_ASSERT(store_text(st, &text, "SELECT name FROM citizens WHERE id = ?",
			    "i", (int64_t)999) == -ENOENT);
	T_STREQ(text, "sentinel");
	row = sentinel;
	T_ASSERT(store_row(st, &row, "SELECT * FROM citizens WHERE id = ?", "i",
			   (int64_t)999) == -ENOENT);
	T_ASSERT(row == sentinel);

	/* -EEXIST for a duplicate CPR number; nothing inserted */
	T_ASSERT(insert_citizen(st, "Anden Borger", "010150-5123") == -EEXIST);
	T_ASSERT(count_citizens(st) == 1);

	/* store_rows: every row, in order; 'n' binds NULL */
	T_ASSERT(store_exec(st,
			    "INSERT INTO citizens (name, cpr, address, phone, "
			    "email, created_at, created_by) "
			    "VALUES (?, ?, ?, ?, ?, ?, ?)",
			    "ssssnss", "Anden Borger", "020250-6123",
			    "Testvej 2", "00000001", "2050-01-01T00:00:00Z",
			    "tester") == 1);
	id2 = store_last_id(st);
	T_ASSERT(id2 > id);
	T_ASSERT(store_rows(st, &rows,
			    "SELECT id, cpr FROM citizens ORDER BY id",
			    NULL) == 2);
	T_ASSERT(json_array_size(rows) == 2);
	T_ASSERT(json_integer_value(
		     json_object_get(json_array_get(rows, 0), "id")) == id);
	T_STREQ(
	    json_string_value(json_object_get(json_array_get(rows, 1), "cpr")),
	    "020250-6123");
	json_decref(rows);
	rows = NULL;
	T_ASSERT(store_rows(st, &rows, "SELECT * FROM citizens WHERE id = ?",
			    "i", (int64_t)999) == 0);
	T_ASSERT(json_is_array(rows) && json_array_size(rows) == 0);
	json_decref(rows);

	/* store_exec returns the number of changed rows */
	T_ASSERT(store_exec(st, "UPDATE citizens SET phone = ?", "s",
			    "00000002") == 2);
	T_ASSERT(store_exec(st, "UPDATE citizens SET phone = ? WHERE id = ?",
			    "si", "00000003", (int64_t)999) == 0);

	/* a format letter it does not know */
	T_ASSERT(store_exec(st, "UPDATE citizens SET phone = ?", "x",
			    "00000004") == -EINVAL);
	T_ASSERT(store_int(st, &n,
			   "SELECT count(*) FROM citizens WHERE phone = ?", "s",
			   "00000002") == 0);
	T_ASSERT(n == 2);

	json_decref(sentinel);
	store_close(st);
}

static void test_transactions(void)
{
	struct store *st = open_store("tx.db");

	if (!st)
		return;
	/* a rolled-back insert is gone. store_begin() succeeds with >= 0:
	 * it passes on store_exec()'s sqlite3_changes(), which still counts
	 * the last INSERT, so it need not be 0. */
	T_ASSERT(store_begin(st) >= 0);
	T_ASSERT(!sqlite3_get_autocommit(store_db(st)));
	T_ASSERT(insert_citizen(st, "Test Borger", "010150-5123") == 1);
	T_ASSERT(count_citizens(st) == 1);
	store_rollback(st);
	T_ASSERT(sqlite3_get_autocommit(store_db(st)));
	T_ASSERT(count_citizens(st) == 0);

	/* outside a transaction rollback does nothing */
	store_rollback(st);
	T_ASSERT(sqlite3_get_autocommit(store_db(st)));

	/* a committed one stays, also after reopening */
	T_ASSERT(store_begin(st) >= 0);
	T_ASSERT(insert_citizen(st, "Test Borger", "010150-5123") == 1);
	T_ASSERT(insert_citizen(st, "Anden Borger", "020250-6123") == 1);
	T_ASSERT(store_commit(st) == 0);
	T_ASSERT(sqlite3_get_autocommit(store_db(st)));
	store_close(st);
	st = open_store("tx.db");
	if (!st)
		return;
	T_ASSERT(count_citizens(st) == 2);

	/* a failed statement inside a transaction leaves the others to the
	 * caller's rollback */
	T_ASSERT(store_begin(st) >= 0);
	T_ASSERT(insert_citizen(st, "Tredje Borger", "030350-7123") == 1);
	T_ASSERT(insert_citizen(st, "Test Borger", "010150-5123") == -EEXIST);
	store_rollback(st);
	T_ASSERT(count_citizens(st) == 2);
	store_close(st);
}

/* Lazy commits: written at once, synced by the thread, numbered; the
 * connection is back at synchronous=FULL after each. */
static void test_lazy_commit(void)
{
	struct store *st = open_store("lazy.db");
	uint64_t t1 = 0, t2 = 0;
	char v[64];
	struct pollfd pfd;

	if (!st)
		return;
	T_ASSERT(store_sync_fd(st) >= 0);
	T_ASSERT(store_begin_lazy(st) >= 0);
	T_ASSERT(query(store_db(st), "PRAGMA synchronous", v, sizeof(v)) == 1);
	T_STREQ(v, "1"); /* NORMAL: the commit does not sync */
	T_ASSERT(insert_citizen(st, "Test Borger", "010150-5123") == 1);
	T_ASSERT(store_commit_lazy(st, &t1) == 0);
	T_ASSERT(t1 > 0);
	T_ASSERT(query(store_db(st), "PRAGMA synchronous", v, sizeof(v)) == 1);
	T_STREQ(v, "2");
	T_ASSERT(store_sync_wait(st) >= t1);
	pfd = (struct pollfd){store_sync_fd(st), POLLIN, 0};
	T_ASSERT(poll(&pfd, 1, 5000) == 1);
	T_ASSERT(store_synced(st) >= t1);

	/* a rolled-back lazy transaction changes nothing, FULL again */
	T_ASSERT(store_begin_lazy(st) >= 0);
	T_ASSERT(insert_citizen(st, "Anden Borger", "020250-6123") == 1);
	store_rollback(st);
	T_ASSERT(query(store_db(st), "PRAGMA synchronous", v, sizeof(v)) == 1);
	T_STREQ(v, "2");
	T_ASSERT(count_citizens(st) == 1);

	/* tickets increase; a plain commit stays what it was */
	T_ASSERT(store_begin_lazy(st) >= 0);
	T_ASSERT(insert_citizen(st, "Anden Borger", "020250-6123") == 1);
	T_ASSERT(store_commit_lazy(st, &t2) == 0);
	T_ASSERT(t2 == t1 + 1);
	T_ASSERT(store_begin(st) >= 0);
	T_ASSERT(insert_citizen(st, "Tredje Borger", "030350-7123") == 1);
	T_ASSERT(store_commit(st) == 0);
	T_ASSERT(store_sync_wait(st) == t2);
	store_close(st);

	st = open_store("lazy.db");
	if (!st)
		return;
	T_ASSERT(count_citizens(st) == 3);
	store_close(st);
}

/* Statements are cached by their SQL's address; a buffer reused for
 * other SQL still runs what it holds now. */
static void test_reused_sql_buffer(void)
{
	struct store *st = open_store("reuse.db");
	char sql[64];
	int64_t n = 0;

	if (!st)
		return;
	snprintf(sql, sizeof(sql), "SELECT %d", 1);
	T_ASSERT(store_int(st, &n, sql, "") == 0 && n == 1);
	snprintf(sql, sizeof(sql), "SELECT %d", 2);
	T_ASSERT(store_int(st, &n, sql, "") == 0 && n == 2);
	snprintf(sql, sizeof(sql), "SELECT %d", 2);
	T_ASSERT(store_int(st, &n, sql, "") == 0 && n == 2);
	store_close(st);
}

static void test_close_null(void)
{
	store_close(NULL);
	T_ASSERT(1);
}

T_MAIN(T_CASE(test_open_creates_private_file), T_CASE(test_pragmas),
       T_CASE(test_second_open_is_busy),
       T_CASE(test_migrate_from_every_version),
       T_CASE(test_newer_schema_refused), T_CASE(test_query_helpers),
       T_CASE(test_transactions), T_CASE(test_lazy_commit),
       T_CASE(test_reused_sql_buffer), T_CASE(test_close_null))
