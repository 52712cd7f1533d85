/* walsync.h — makes committed WAL frames durable on a thread of its own.
 *
 * A commit with synchronous=FULL waits on the committing thread until the
 * WAL is on disk (an fdatasync, 0.2–2 ms here, more when the disk is
 * busy). For commits whose durability the committing thread need not wait
 * for (the SMTP results: what waits for them is the next final dot of a
 * connection), the store commits with synchronous=NORMAL, which writes the
 * frames into the WAL file (safe from a crash of kipd: they are in the
 * kernel's page cache) without syncing it, and asks this thread to sync
 * the WAL file (safe from a power loss). Several commits made while one
 * sync runs are covered by the next one.
 *
 * Each request gets a ticket, increasing from 1; walsync_done() says up to
 * which ticket the WAL is durable. The eventfd becomes readable when that
 * advances. fdatasync() on a descriptor of our own works, since it syncs
 * the file, whoever wrote it; the WAL file stays the same file while kipd
 * holds the database open (SQLite removes it only at the last close, and
 * restarts it in place), which walsync checks before each sync.
 *
 * The thread is kip-walsync; it touches no SQLite connection, only its own
 * read-only descriptor of the WAL file. The functions below take the
 * walsync's lock; kipd calls them on its loop thread (walsync_done()
 * there only: it reads the eventfd the loop watches).
 */
#ifndef KIP_WALSYNC_H
#define KIP_WALSYNC_H

#include <stdint.h>

struct walsync;

/* Starts the thread for the WAL of the database at DB_PATH ("-wal"
 * appended). NULL (logged) when the file or the thread cannot be had:
 * the caller then commits with synchronous=FULL. */
struct walsync *walsync_start(const char *db_path);

/* Stops the thread after a last sync; NULL is ignored. */
void walsync_stop(struct walsync *ws);

/* Asks for a sync of everything written to the WAL so far; the ticket
 * that walsync_done() reaches when it is durable. */
uint64_t walsync_request(struct walsync *ws);

/* Reads the eventfd empty; the highest ticket that is durable. */
uint64_t walsync_done(struct walsync *ws);

/* Blocks until every ticket requested so far is durable; returns the last
 * of them. */
uint64_t walsync_wait(struct walsync *ws);

/* From now on FN(ARG, ticket) runs on the sync thread after each sync,
 * with the walsync's lock held (FN must not call walsync); NULL: no more
 * calls. Returns when no call of an earlier FN runs. */
void walsync_on_done(struct walsync *ws, void (*fn)(void *arg, uint64_t),
		     void *arg);

/* True while a sync runs or is asked for. */
int walsync_busy(struct walsync *ws);

/* Readable when walsync_done() may have advanced. */
int walsync_fd(const struct walsync *ws);

/* True once a sync failed: the caller should commit with
 * synchronous=FULL from then on, so that SQLite reports the error. */
int walsync_failed(struct walsync *ws);

#endif
