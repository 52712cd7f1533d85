/* store.h — the one SQLite file that holds kip's state.
 *
 * kipd is the only process that opens it (an flock on FILE.lock keeps a
 * second kipd out). WAL mode, foreign keys on, synchronous=FULL: a commit
 * that returned is on disk (a lazy one, below, once it is synced). Writes
 * run in BEGIN IMMEDIATE transactions.
 * The schema is created and migrated on open; PRAGMA user_version records
 * its version.
 *
 * Query helpers bind parameters from a format string, one letter each:
 *   'i' int64_t, 's' const char * (NULL binds NULL), 'n' NULL (no argument).
 * They return >= 0 on success or a negative errno: -ENOENT (no row),
 * -EEXIST (constraint), -ENOSPC (disk full), -EBUSY, -EIO (anything else;
 * the SQLite message is logged without parameter values).
 */
#ifndef KIP_STORE_H
#define KIP_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

struct store;

/* The schema version this build creates and migrates to. */
int store_schema_latest(void);

/*
 * Opens (creating if needed) the store at PATH with mode 0600, takes the
 * lock, and migrates the schema. On failure returns a negative errno and
 * writes the reason to err; *ret is untouched.
 */
int store_open(const char *path, struct store **ret, char *err, size_t errlen);
void store_close(struct store *st);

/* Migrates an open database to schema version TARGET (used by store_open
 * with the latest, and by the tests with earlier versions). */
int store_migrate(sqlite3 *db, int target, char *err, size_t errlen);
int store_schema_version(struct store *st);
sqlite3 *store_db(struct store *st);

int store_begin(struct store *st); /* BEGIN IMMEDIATE */
int store_commit(struct store *st);
void store_rollback(struct store *st);

/*
 * A transaction whose commit does not wait for the disk (walsync.h): when
 * store_commit_lazy() returns, its changes are in the WAL, safe from a
 * crash of kipd but not yet from a power loss; they are durable once
 * store_synced() reaches *ticket. *ticket is 0 when the commit was a full
 * one (no sync thread, or a sync failed before). Meanwhile store_commit()
 * and every other write stay full: they also make every lazy commit
 * before them durable.
 */
int store_begin_lazy(struct store *st);
int store_commit_lazy(struct store *st, uint64_t *ticket);
/* FN(ARG, ticket) on the sync thread after each sync; see
 * walsync_on_done(). Nothing without the thread. */
void store_on_synced(struct store *st, void (*fn)(void *arg, uint64_t),
		     void *arg);
/* Readable when store_synced() may have advanced; -1 without the thread. */
int store_sync_fd(const struct store *st);
/* The highest ticket that is durable (reads the fd empty). */
uint64_t store_synced(struct store *st);
/* True while the sync thread syncs or has a sync to do. */
int store_sync_busy(struct store *st);
/* Blocks until every lazy commit so far is durable; the last ticket. */
uint64_t store_sync_wait(struct store *st);

/* Runs a statement; returns the number of changed rows. */
int store_exec(struct store *st, const char *sql, const char *fmt, ...);
/* The id of the last inserted row. */
int64_t store_last_id(struct store *st);
/* First column of the first row as an integer; -ENOENT without a row. */
int store_int(struct store *st, int64_t *ret, const char *sql, const char *fmt,
	      ...);
/* First column of the first row as a malloc'd string (NULL for a NULL). */
int store_text(struct store *st, char **ret, const char *sql, const char *fmt,
	       ...);
/* All rows as a JSON array of objects keyed by column name (NULL columns
 * become JSON null). Returns the row count; *ret is a new reference. */
int store_rows(struct store *st, json_t **ret, const char *sql, const char *fmt,
	       ...);
/* The first row as a JSON object; -ENOENT without a row. */
int store_row(struct store *st, json_t **ret, const char *sql, const char *fmt,
	      ...);

/* The current UTC time as "YYYY-MM-DDTHH:MM:SSZ". */
void store_now(char out[32]);

#endif
