/* audit.h — writing the audit trail, and its guards. The chain itself
 * (what is hashed, and how audit.verify reads it) is described at the top
 * of audit.c.
 */
#ifndef KIP_AUDIT_H
#define KIP_AUDIT_H

#include <jansson.h>
#include <stdint.h>

struct caller;
struct store;

/* Appends one entry by WHO, inside the caller's transaction (a unit of
 * work: txn_audit()). OBJECT may be NULL or "". 0 or -errno. */
int audit_write(struct store *st, const struct caller *who, const char *action,
		const char *outcome, int64_t citizen_id, int64_t plan_id,
		const char *object);

/*
 * Makes the audit table append-only inside the database: triggers refuse
 * every UPDATE and DELETE of an audit row and every INSERT without a
 * well-formed hash. Call it once after store_open(); it (re)creates the
 * triggers in one transaction, so a database whose triggers were dropped
 * or replaced gets this build's definitions back. Returns 0, or a
 * negative errno after logging SQLite's message.
 *
 * The triggers stop mistakes and anyone who reaches the database through
 * SQL; someone who can write the file can drop them. Against that, the
 * hash chain (audit.verify) is the check.
 */
int audit_install_guards(struct store *st);

/*
 * Recomputes the whole chain (the walk is described in audit.c). 0 with
 * *ret a report: {"entries", "unchained", "problems" (the count), "list"
 * (up to 20 {id, problem}), "head" {id, hash}, "first" {id, problem,
 * index: its place in list}}; or -errno.
 */
int audit_verify(struct store *st, json_t **ret);

#endif
