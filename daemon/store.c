/* store.c — SQLite: open, lock, migrate, cached statements, transactions,
 * the query helpers of store.h, and WAL checkpoints in a thread of their
 * own. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "log.h"
#include "schema.h"
#include "walsync.h"

#define STMT_CACHE 256

/*
 * Checkpoints. SQLite's own automatic checkpoint runs inside the commit
 * that takes the WAL past 1000 pages, on the thread that commits: kipd's
 * loop, which then neither answers the control socket nor records SMTP
 * replies while megabytes of ciphertext are copied into the database and
 * synced (tens of milliseconds). Instead a thread with a connection of its
 * own runs PASSIVE checkpoints (they never block readers or the writer)
 * when the WAL has grown that far. Durability is unchanged: a commit is on
 * disk when it returns (synchronous=FULL on the WAL; a lazy commit when
 * walsync says so); the checkpoint only moves committed pages from the WAL
 * into the database file, and syncs it.
 *
 * Only one checkpoint can run at a time; a second one fails at once with
 * SQLITE_BUSY. So a commit made outside the helpers below (raw
 * sqlite3_exec on store_db(), such as erasure's VACUUM, which then
 * truncates the WAL itself) first waits until the thread is idle, and the
 * thread is only woken by commits made through the helpers.
 */
#define CKPT_PAGES 1000
/* Far past that (the thread cannot keep up) the committing thread helps. */
#define CKPT_INLINE_PAGES (16 * CKPT_PAGES)

struct cached {
	const char *sql; /* the caller's string literal: compared by address */
	sqlite3_stmt *stmt;
};

/* Shared by kip-checkpoint and the store's thread (kipd's loop thread,
 * whose commits call wal_hook()). */
struct checkpointer {
	sqlite3 *db;	  /* the thread's own connection: opened before
			     it starts, closed after it is joined */
	pthread_t thread; /* the store's thread's (start and stop) */
	pthread_mutex_t mu;
	pthread_cond_t wake;   /* want or stop set */
	pthread_cond_t idle;   /* busy cleared */
	bool want, busy, stop; /* under mu */
};

/* The loop thread's only, every field: db is the connection every read
 * and write of the tables goes through (opened SQLITE_OPEN_NOMUTEX: one
 * thread). kip-checkpoint and kip-walsync have structs of their own (ckpt,
 * ws), with their own connection or descriptor. */
struct store {
	sqlite3 *db;
	int lock_fd;
	struct cached cache[STMT_CACHE];
	size_t n_cache;
	int in_helper;		   /* > 0 while a helper steps a statement */
	struct checkpointer *ckpt; /* NULL: SQLite checkpoints inline */
	struct walsync *ws;	   /* NULL: lazy commits are full ones */
	bool lazy;		   /* in a store_begin_lazy() transaction */
};

int store_schema_latest(void)
{
	return schema_latest();
}

sqlite3 *store_db(struct store *st)
{
	return st->db;
}

static int map_rc(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE ||
		    rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return -EEXIST;
		/* Any other constraint is a bug in kipd, not a conflict. */
		log_err("store: constraint failed: %s", sqlite3_errmsg(db));
		return -EINVAL;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		log_err("store: sqlite error %d: %s", rc, sqlite3_errmsg(db));
		return -EIO;
	}
}

/* sqlite3_step for the helpers: marks their commits (see CKPT_PAGES). */
static int step(struct store *st, sqlite3_stmt *s)
{
	int rc;

	st->in_helper++;
	rc = sqlite3_step(s);
	st->in_helper--;
	return rc;
}

static int exec_plain(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		if (err)
			snprintf(err, errlen, "%s",
				 msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return map_rc(db, rc) ? map_rc(db, rc) : -EIO;
	}
	return 0;
}

static int user_version(sqlite3 *db)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL))
		return -EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* Foreign key violations left by a migration, as "table(rowid) -> parent"
 * in msg; 0 when there are none. */
static int fk_check(sqlite3 *db, char *msg, size_t len)
{
	sqlite3_stmt *s;
	int n = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL))
		return -EIO;
	while (sqlite3_step(s) == SQLITE_ROW)
		if (n++ == 0)
			snprintf(msg, len,
				 "foreign key violation: %s(%lld) -> %s",
				 (const char *)sqlite3_column_text(s, 0),
				 (long long)sqlite3_column_int64(s, 1),
				 (const char *)sqlite3_column_text(s, 2));
	sqlite3_finalize(s);
	return n ? -EPROTO : 0;
}

/*
 * Each migration runs in a transaction of its own with foreign keys off,
 * so that one may rebuild a table that others refer to (SQLite's
 * procedure for changes ALTER TABLE cannot make), and is checked with
 * PRAGMA foreign_key_check before it commits.
 */
int store_migrate(sqlite3 *db, int target, char *err, size_t errlen)
{
	int v = user_version(db), r = 0;

	if (v < 0) {
		snprintf(err, errlen, "cannot read the schema version");
		return -EIO;
	}
	if (v > schema_latest()) {
		snprintf(err, errlen,
			 "the store has schema version %d, newer than this "
			 "kipd knows (%d); refusing to touch it",
			 v, schema_latest());
		return -EPROTO;
	}
	if (v >= target)
		return 0;
	if (exec_plain(db, "PRAGMA foreign_keys = OFF", err, errlen) < 0)
		return -EIO;
	for (int next = v + 1; next <= target && r == 0; next++) {
		char msg[256] = "", pragma[64];

		r = exec_plain(db, "BEGIN IMMEDIATE", msg, sizeof(msg));
		if (r == 0)
			r = exec_plain(db, schema_migration(next), msg,
				       sizeof(msg));
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
			 next);
		if (r == 0)
			r = exec_plain(db, pragma, msg, sizeof(msg));
		if (r == 0)
			r = fk_check(db, msg, sizeof(msg));
		if (r == 0)
			r = exec_plain(db, "COMMIT", msg, sizeof(msg));
		if (r < 0) {
			exec_plain(db, "ROLLBACK", NULL, 0);
			snprintf(err, errlen, "migration to schema %d: %s",
				 next, msg);
			break;
		}
		log_notice("store: migrated schema to version %d", next);
	}
	if (exec_plain(db, "PRAGMA foreign_keys = ON", r ? NULL : err,
		       r ? 0 : errlen) < 0 &&
	    r == 0)
		r = -EIO;
	return r;
}

static int take_lock(const char *path, int *ret_fd, char *err, size_t errlen)
{
	char lock[4096];
	int fd;

	if ((size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    sizeof(lock)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", lock, strerror(e));
		return -e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		snprintf(err, errlen,
			 "%s is in use by another kipd (lock %s held)", path,
			 lock);
		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	*ret_fd = fd;
	return 0;
}

static void *checkpoint_main(void *arg)
{
	struct checkpointer *c = arg;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		int rc, frames = -1, done = -1;

		while (!c->want && !c->stop)
			pthread_cond_wait(&c->wake, &c->mu);
		if (c->stop)
			break;
		c->want = false;
		c->busy = true;
		pthread_mutex_unlock(&c->mu);
		rc = sqlite3_wal_checkpoint_v2(
		    c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_err("store: WAL checkpoint failed: %s",
				sqlite3_errmsg(c->db));
		pthread_mutex_lock(&c->mu);
		c->busy = false;
		pthread_cond_broadcast(&c->idle);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Waits until the checkpointer runs nothing and has nothing pending. */
static void checkpoint_quiesce(struct checkpointer *c)
{
	pthread_mutex_lock(&c->mu);
	c->want = false;
	while (c->busy)
		pthread_cond_wait(&c->idle, &c->mu);
	pthread_mutex_unlock(&c->mu);
}

/* sqlite3_wal_hook: after each commit on the main connection, with the
 * WAL's size in pages. Replaces SQLite's automatic checkpoint. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *st = arg;
	struct checkpointer *c = st->ckpt;

	if (!st->in_helper) {
		/* A raw commit (VACUUM): whatever checkpoint its caller
		 * runs next must not find the thread in the middle of one. */
		checkpoint_quiesce(c);
		return SQLITE_OK;
	}
	if (pages >= CKPT_INLINE_PAGES) {
		checkpoint_quiesce(c);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
		return SQLITE_OK;
	}
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&c->mu);
		if (!c->busy && !c->want) {
			c->want = true;
			pthread_cond_signal(&c->wake);
		}
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

/* Starts the checkpoint thread; without it (no threads, no second
 * connection) SQLite keeps checkpointing inline, as it does by default. */
static void checkpoint_start(struct store *st, const char *path)
{
	struct checkpointer *c;

	if (!sqlite3_threadsafe() || !(c = calloc(1, sizeof(*c))))
		return;
	if (sqlite3_open_v2(path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    exec_plain(c->db, "PRAGMA synchronous = FULL", NULL, 0) < 0) {
		log_warn("store: no checkpoint connection (%s); checkpoints "
			 "run inline",
			 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		free(c);
		return;
	}
	sqlite3_busy_timeout(c->db, 5000);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->wake, NULL);
	pthread_cond_init(&c->idle, NULL);
	if (pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->wake);
		pthread_cond_destroy(&c->idle);
		sqlite3_close(c->db);
		free(c);
		return;
	}
	pthread_setname_np(c->thread, "kip-checkpoint");
	st->ckpt = c;
	sqlite3_wal_hook(st->db, wal_hook, st);
}

static void checkpoint_stop(struct store *st)
{
	struct checkpointer *c = st->ckpt;

	if (!c)
		return;
	/* Back to SQLite's own hook: the last close checkpoints. */
	sqlite3_wal_autocheckpoint(st->db, CKPT_PAGES);
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->idle);
	free(c);
	st->ckpt = NULL;
}

int store_open(const char *path, struct store **ret, char *err, size_t errlen)
{
	static const char setup[] = "PRAGMA journal_mode = WAL;"
				    "PRAGMA synchronous = FULL;"
				    "PRAGMA foreign_keys = ON;"
				    "PRAGMA secure_delete = ON;"
				    /* temporary tables and VACUUM's copy
				     * stay in memory, not in /tmp */
				    "PRAGMA temp_store = MEMORY;";
	struct store *st;
	mode_t old;
	int r, rc;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	r = take_lock(path, &st->lock_fd, err, errlen);
	if (r < 0) {
		free(st);
		return r;
	}
	old = umask(077); /* the database, its WAL and shm: owner only */
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				 SQLITE_OPEN_NOMUTEX,
			     NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		r = -EIO;
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* Before the first statement: the WAL recovery after a crash, or
	 * a reader such as a backup, must make kipd wait, not give up. */
	sqlite3_busy_timeout(st->db, 5000);
	r = exec_plain(st->db, setup, err, errlen);
	if (r == 0)
		r = store_migrate(st->db, schema_latest(), err, errlen);
	if (r < 0)
		goto fail;
	checkpoint_start(st, path);
	st->ws = walsync_start(path);
	*ret = st;
	return 0;
fail:
	store_close(st);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	walsync_stop(st->ws);
	checkpoint_stop(st);
	for (size_t i = 0; i < st->n_cache; i++)
		sqlite3_finalize(st->cache[i].stmt);
	if (st->db)
		sqlite3_close(st->db);
	if (st->lock_fd > 0)
		close(st->lock_fd);
	free(st);
}

int store_schema_version(struct store *st)
{
	return user_version(st->db);
}

/* A cached, reset statement for sql, or NULL (logged). Found by the
 * string's address; a buffer that held other SQL when it was cached (not
 * a literal) is prepared anew in its place. */
static sqlite3_stmt *prepare(struct store *st, const char *sql)
{
	struct cached *slot = NULL;
	sqlite3_stmt *s;

	for (size_t i = 0; i < st->n_cache; i++) {
		if (st->cache[i].sql != sql)
			continue;
		if (strcmp(sqlite3_sql(st->cache[i].stmt), sql) == 0) {
			sqlite3_reset(st->cache[i].stmt);
			sqlite3_clear_bindings(st->cache[i].stmt);
			return st->cache[i].stmt;
		}
		slot = &st->cache[i];
		break;
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
			       NULL) != SQLITE_OK) {
		log_err("store: cannot prepare statement: %s",
			sqlite3_errmsg(st->db));
		return NULL;
	}
	if (slot) {
		sqlite3_finalize(slot->stmt);
		slot->stmt = s;
	} else if (st->n_cache < STMT_CACHE) {
		st->cache[st->n_cache++] = (struct cached){sql, s};
	} else {
		log_warn("store: statement cache full");
	}
	return s;
}

static void release(struct store *st, sqlite3_stmt *s)
{
	for (size_t i = 0; i < st->n_cache; i++) {
		if (st->cache[i].stmt == s) {
			sqlite3_reset(s);
			return;
		}
	}
	sqlite3_finalize(s);
}

static int bind(sqlite3_stmt *s, const char *fmt, va_list ap)
{
	int idx = 1, rc = SQLITE_OK;

	/* A format that does not match the statement is a bug; refuse it
	 * rather than bind NULL to what was left over. */
	if ((size_t)sqlite3_bind_parameter_count(s) != strlen(fmt ? fmt : "")) {
		log_err("store: %d parameters but format \"%s\": %s",
			sqlite3_bind_parameter_count(s), fmt ? fmt : "",
			sqlite3_sql(s));
		return -EINVAL;
	}

	for (const char *f = fmt ? fmt : ""; *f && rc == SQLITE_OK;
	     f++, idx++) {
		switch (*f) {
		case 'i':
			rc = sqlite3_bind_int64(s, idx, va_arg(ap, int64_t));
			break;
		case 's': {
			const char *v = va_arg(ap, const char *);
			rc = v ? sqlite3_bind_text(s, idx, v, -1,
						   SQLITE_TRANSIENT)
			       : sqlite3_bind_null(s, idx);
			break;
		}
		case 'n':
			rc = sqlite3_bind_null(s, idx);
			break;
		default:
			return -EINVAL;
		}
	}
	return rc == SQLITE_OK ? 0 : -EINVAL;
}

/* Prepares and binds; on success *ret holds a statement to step. */
static int start(struct store *st, sqlite3_stmt **ret, const char *sql,
		 const char *fmt, va_list ap)
{
	sqlite3_stmt *s = prepare(st, sql);

	if (!s)
		return -EIO;
	if (bind(s, fmt, ap) < 0) {
		release(st, s);
		return -EINVAL;
	}
	*ret = s;
	return 0;
}

int store_exec(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int r, rc;

	va_start(ap, fmt);
	r = start(st, &s, sql, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	while ((rc = step(st, s)) == SQLITE_ROW)
		;
	r = rc == SQLITE_DONE ? sqlite3_changes(st->db) : map_rc(st->db, rc);
	release(st, s);
	return r;
}

int64_t store_last_id(struct store *st)
{
	return sqlite3_last_insert_rowid(st->db);
}

int store_int(struct store *st, int64_t *ret, const char *sql, const char *fmt,
	      ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int r, rc;

	va_start(ap, fmt);
	r = start(st, &s, sql, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	rc = step(st, s);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(s, 0);
	r = rc == SQLITE_ROW	? 0
	    : rc == SQLITE_DONE ? -ENOENT
				: map_rc(st->db, rc);
	release(st, s);
	return r;
}

int store_text(struct store *st, char **ret, const char *sql, const char *fmt,
	       ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int r, rc;

	va_start(ap, fmt);
	r = start(st, &s, sql, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	rc = step(st, s);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		char *copy = NULL;

		if (t && !(copy = strdup((const char *)t)))
			r = -ENOMEM;
		else
			*ret = copy;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : map_rc(st->db, rc);
	}
	release(st, s);
	return r;
}

static json_t *row_object(sqlite3_stmt *s)
{
	json_t *o = json_object();
	int n = sqlite3_column_count(s);

	for (int i = 0; o && i < n; i++) {
		json_t *v;

		switch (sqlite3_column_type(s, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(s, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(s, i));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default:
			v = json_stringn(
			    (const char *)sqlite3_column_text(s, i),
			    (size_t)sqlite3_column_bytes(s, i));
			break;
		}
		if (!v ||
		    json_object_set_new(o, sqlite3_column_name(s, i), v)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int rows_v(struct store *st, json_t **ret, int limit, const char *sql,
		  const char *fmt, va_list ap)
{
	sqlite3_stmt *s;
	json_t *arr;
	int r, rc = SQLITE_DONE, n = 0;

	r = start(st, &s, sql, fmt, ap);
	if (r < 0)
		return r;
	arr = json_array();
	while (arr && (limit < 0 || n < limit) &&
	       (rc = step(st, s)) == SQLITE_ROW) {
		if (json_array_append_new(arr, row_object(s))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	if (!arr)
		r = -ENOMEM;
	else if (r == 0 && (limit < 0 || n < limit) && rc != SQLITE_DONE)
		r = map_rc(st->db, rc);
	release(st, s);
	if (r < 0) {
		json_decref(arr);
		return r;
	}
	*ret = arr;
	return n;
}

int store_rows(struct store *st, json_t **ret, const char *sql, const char *fmt,
	       ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rows_v(st, ret, -1, sql, fmt, ap);
	va_end(ap);
	return r;
}

int store_row(struct store *st, json_t **ret, const char *sql, const char *fmt,
	      ...)
{
	json_t *arr;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rows_v(st, &arr, 1, sql, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	if (r == 0) {
		json_decref(arr);
		return -ENOENT;
	}
	*ret = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return 0;
}

int store_begin(struct store *st)
{
	int r = store_exec(st, "BEGIN IMMEDIATE", NULL);

	return r < 0 ? r : 0;
}

int store_commit(struct store *st)
{
	int r = store_exec(st, "COMMIT", NULL);

	if (r < 0)
		store_rollback(st);
	return r < 0 ? r : 0;
}

void store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		store_exec(st, "ROLLBACK", NULL);
	if (st->lazy) {
		st->lazy = false;
		store_exec(st, "PRAGMA synchronous = FULL", NULL);
	}
}

int store_begin_lazy(struct store *st)
{
	int r;

	if (st->ws && !walsync_failed(st->ws)) {
		r = store_exec(st, "PRAGMA synchronous = NORMAL", NULL);
		if (r < 0)
			return r;
		st->lazy = true;
	}
	r = store_begin(st);
	if (r < 0)
		store_rollback(st); /* back to FULL */
	return r;
}

int store_commit_lazy(struct store *st, uint64_t *ticket)
{
	bool lazy = st->lazy;
	int r;

	*ticket = 0;
	r = store_commit(st); /* rolls back (and so restores FULL) itself */
	if (r < 0 || !lazy)
		return r;
	st->lazy = false;
	r = store_exec(st, "PRAGMA synchronous = FULL", NULL);
	/* The commit stands either way; the WAL is synced below. */
	*ticket = walsync_request(st->ws);
	return r < 0 ? r : 0;
}

void store_on_synced(struct store *st, void (*fn)(void *arg, uint64_t),
		     void *arg)
{
	if (st->ws)
		walsync_on_done(st->ws, fn, arg);
}

int store_sync_fd(const struct store *st)
{
	return st->ws ? walsync_fd(st->ws) : -1;
}

uint64_t store_synced(struct store *st)
{
	return st->ws ? walsync_done(st->ws) : 0;
}

int store_sync_busy(struct store *st)
{
	return st->ws ? walsync_busy(st->ws) : 0;
}

uint64_t store_sync_wait(struct store *st)
{
	return st->ws ? walsync_wait(st->ws) : 0;
}

void store_now(char out[32])
{
	time_t t = clock_now();
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
