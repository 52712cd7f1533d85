/* audit.h — the audit trail's guards. audit_add() and the audit handlers
 * are declared in cmd.h with the other things a handler uses; the chain
 * itself (what is hashed, and how audit.verify reads it) is described at
 * the top of audit.c.
 */
#ifndef KIP_AUDIT_H
#define KIP_AUDIT_H

struct store;

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

#endif
