/* erase.h — erasure of a citizen's personal data (kipctl citizen erase).
 *
 * The handler, cmd_citizen_erase (declared in cmd.h), deletes every row
 * that holds the citizen's personal data in the request's transaction and
 * records the erasure (table erasures, event citizen.erased). What stays
 * is pseudonymous: the audit trail and event_log (ids, types, times).
 *
 * Deleted rows can outlive the commit in the file: as old page images in
 * the WAL, and in pages SQLite has not rewritten. Neither can be removed
 * inside a transaction: the erasure marks its unit of work (TXN_ERASED,
 * txn.h), and erase_after_commit() runs once it has committed.
 */
#ifndef KIP_ERASE_H
#define KIP_ERASE_H

#include <stdbool.h>
#include <stdint.h>

struct cmd_ctx;
struct kipd;

/*
 * Rewrites the store so that nothing erased remains in its files: VACUUM
 * (a fresh copy of every live page, secure_delete already zeroes what was
 * deleted), then a TRUNCATE checkpoint, which copies the WAL into the
 * database and cuts the WAL to zero bytes. Runs on the loop thread and
 * blocks it for as long as VACUUM takes (it reads and writes the whole
 * file). Must be called outside any transaction. Failures are logged
 * here (ids only) and not returned: the erasure itself has committed;
 * the next erasure scrubs again, and a clean shutdown checkpoints and
 * removes the WAL.
 */
void erase_after_commit(struct kipd *k);

/* The lighter scrub after a commit that deleted personal data kept for
 * sending (withdrawn consent, a member removed: TXN_SCRUB, txn.h): the
 * WAL's old page images of it go; the database's own pages were zeroed
 * by secure_delete as they were freed. Logged when it cannot finish. */
void erase_scrub_wal(struct kipd *k);

/*
 * Erases citizen ID (the caller has access) inside c's unit of work: the
 * retention rule (FORCE overrides it, and says so in the record), the
 * citizen's mail stopped and forgotten, every row of the citizen deleted
 * (children first), the erasure recorded, citizen.erased emitted, and the
 * file rewritten after the commit (TXN_ERASED). Sets c->result to
 * {id, forced, deleted: {table: rows}}. 0 or cmd_fail()'s -1.
 */
int erase_citizen(struct cmd_ctx *c, int64_t id, bool force);

#endif
