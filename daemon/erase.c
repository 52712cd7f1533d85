/* erase.c — erasure of a citizen's personal data (see erase.h).
 *
 * Who: an admin, or a coordinator with access to the citizen. When: once
 * the retention period (plans.retention_days) has passed since the
 * citizen's last plan activity; an admin may force it earlier.
 *
 * What goes, in one transaction, children before parents (foreign keys
 * are on): the outbox rows of the citizen, of the citizen's plans and of
 * the citizen's relatives and supporters (addresses, ciphertext); the
 * plans' versions (the plan text), attendance, meetings (place, reason,
 * situation), members and the plans themselves; the relatives and
 * supporters with their memberships and attendance anywhere; the consent
 * history; the citizen. What stays: the audit trail and event_log, which
 * hold ids, types and times only, and the row in erasures.
 */
#include "erase.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "cmd.h"
#include "event.h"
#include "log.h"
#include "outbox.h"
#include "txn.h"

/*
 * The citizen's last plan activity is the latest date of:
 *   - the citizen's registration (the floor, for a citizen without plans),
 *   - the creation of each of the citizen's plans,
 *   - the creation of each version, its approval date and when that
 *     approval was recorded,
 *   - the start of each meeting that was not cancelled (a meeting still
 *     ahead keeps the plan alive until it has taken place),
 *   - each consent event (given or withdrawn): its date and when it was
 *     recorded; a withdrawal is when the work stopped, so the period runs
 *     from it.
 * Reads, mail, audit entries and changes of address are not plan
 * activity. Times are compared as dates (the first ten characters): UTC
 * for recorded times, local for meeting starts and consent dates; a day's
 * difference at midnight does not matter against a period of years.
 *
 * Returns the first date on which the citizen may be erased
 * ("YYYY-MM-DD", malloc'd in *ret) or a negative errno.
 */
static int erasable_from(struct store *st, int64_t citizen, int days,
			 char **ret)
{
	return store_text(
	    st, ret,
	    "SELECT date(max(d), '+' || ?2 || ' days') FROM ("
	    " SELECT substr(created_at, 1, 10) AS d FROM citizens"
	    "  WHERE id = ?1"
	    " UNION ALL SELECT substr(created_at, 1, 10) FROM plans"
	    "  WHERE citizen_id = ?1"
	    " UNION ALL SELECT substr(v.created_at, 1, 10)"
	    "  FROM plan_versions v JOIN plans p ON p.id = v.plan_id"
	    "  WHERE p.citizen_id = ?1"
	    " UNION ALL SELECT substr(v.approved_at, 1, 10)"
	    "  FROM plan_versions v JOIN plans p ON p.id = v.plan_id"
	    "  WHERE p.citizen_id = ?1"
	    " UNION ALL SELECT substr(v.approval_recorded_at, 1, 10)"
	    "  FROM plan_versions v JOIN plans p ON p.id = v.plan_id"
	    "  WHERE p.citizen_id = ?1"
	    " UNION ALL SELECT substr(m.starts_at, 1, 10) FROM meetings m"
	    "  JOIN plans p ON p.id = m.plan_id WHERE p.citizen_id = ?1"
	    "  AND m.status <> 'cancelled'"
	    " UNION ALL SELECT date FROM consents WHERE citizen_id = ?1"
	    " UNION ALL SELECT substr(recorded_at, 1, 10) FROM consents"
	    "  WHERE citizen_id = ?1)",
	    "ii", citizen, (int64_t)days);
}

/* Rule retention, and who may force it. Sets *ret_forced when an admin's
 * force overrode a period that has not passed. 0 or cmd_fail()'s -1. */
static int rule_retention(struct cmd_ctx *c, int64_t id, bool force,
			  bool *ret_forced)
{
	int days = c->k->cfg->retention_days;
	char today[11], *from = NULL;
	int r;

	if (force && c->who->role != ROLE_ADMIN)
		return cmd_fail(c, "forbidden",
				"only an administrator may erase before the "
				"retention period has passed (--force)");
	r = erasable_from(c->st, id, days, &from);
	if (r < 0 || !from) {
		free(from);
		return cmd_store_fail(c, r < 0 ? r : -EIO, "citizen");
	}
	clock_today(today);
	*ret_forced = false;
	if (strcmp(today, from) < 0) {
		if (!force) {
			r = cmd_fail(c, "rule",
				     "rule retention: citizen %lld had plan "
				     "activity less than %d days ago; the data "
				     "may be erased from %s",
				     (long long)id, days, from);
			free(from);
			return r;
		}
		*ret_forced = true;
	}
	free(from);
	return 0;
}

/* The deletions, children before parents. Each is bound to the citizen
 * only; none is built from input. */
static const struct {
	const char *table; /* for the reply and errors */
	const char *sql;
} deletions[] = {
    {"deviation_forwards",
     "DELETE FROM deviation_forwards WHERE deviation_id IN"
     " (SELECT d.id FROM deviations d JOIN plans p ON p.id = d.plan_id"
     "  WHERE p.citizen_id = ?1)"
     " OR contact_id IN (SELECT id FROM contacts WHERE citizen_id = ?1)"},
    {"deviations", "DELETE FROM deviations WHERE plan_id IN"
		   " (SELECT id FROM plans WHERE citizen_id = ?1)"},
    {"goal_routes", "DELETE FROM goal_routes WHERE plan_id IN"
		    " (SELECT id FROM plans WHERE citizen_id = ?1)"
		    " OR contact_id IN"
		    " (SELECT id FROM contacts WHERE citizen_id = ?1)"},
    {"meeting_replies",
     "DELETE FROM meeting_replies WHERE meeting_id IN"
     " (SELECT m.id FROM meetings m JOIN plans p ON p.id = m.plan_id"
     "  WHERE p.citizen_id = ?1)"
     " OR contact_id IN (SELECT id FROM contacts WHERE citizen_id = ?1)"},
    {"pdf_passphrases", "DELETE FROM pdf_passphrases WHERE citizen_id = ?1"},
    {"contact_certs_learned",
     "DELETE FROM contact_certs_learned WHERE contact_id IN"
     " (SELECT id FROM contacts WHERE citizen_id = ?1)"},
    {"plan_versions", "DELETE FROM plan_versions WHERE plan_id IN"
		      " (SELECT id FROM plans WHERE citizen_id = ?1)"},
    {"meeting_attendance",
     "DELETE FROM meeting_attendance WHERE meeting_id IN"
     " (SELECT m.id FROM meetings m JOIN plans p ON p.id = m.plan_id"
     "  WHERE p.citizen_id = ?1)"
     " OR contact_id IN (SELECT id FROM contacts WHERE citizen_id = ?1)"},
    {"meetings", "DELETE FROM meetings WHERE plan_id IN"
		 " (SELECT id FROM plans WHERE citizen_id = ?1)"},
    {"plan_members",
     "DELETE FROM plan_members WHERE plan_id IN"
     " (SELECT id FROM plans WHERE citizen_id = ?1)"
     " OR contact_id IN (SELECT id FROM contacts WHERE citizen_id = ?1)"},
    {"plans", "DELETE FROM plans WHERE citizen_id = ?1"},
    /* Professionals have no citizen_id (a CHECK in the schema), so
     * these are exactly the citizen's relatives and supporters. */
    {"contacts", "DELETE FROM contacts WHERE citizen_id = ?1"},
    {"consents", "DELETE FROM consents WHERE citizen_id = ?1"},
    {"citizens", "DELETE FROM citizens WHERE id = ?1"},
};

/* Runs the deletions; *counts gets { table: rows }. 0 or cmd_fail(). */
static int delete_all(struct cmd_ctx *c, int64_t id, json_t *counts)
{
	static const char *const retire[] = {
	    "INSERT INTO retired_ids (tbl, high) SELECT 'citizens',"
	    " coalesce(max(id), 0) FROM citizens WHERE true"
	    " ON CONFLICT (tbl) DO UPDATE SET high = max(high, excluded.high)",
	    "INSERT INTO retired_ids (tbl, high) SELECT 'plans',"
	    " coalesce(max(id), 0) FROM plans WHERE true"
	    " ON CONFLICT (tbl) DO UPDATE SET high = max(high, excluded.high)",
	    "INSERT INTO retired_ids (tbl, high) SELECT 'contacts',"
	    " coalesce(max(id), 0) FROM contacts WHERE true"
	    " ON CONFLICT (tbl) DO UPDATE SET high = max(high, excluded.high)",
	    "INSERT INTO retired_ids (tbl, high) SELECT 'meetings',"
	    " coalesce(max(id), 0) FROM meetings WHERE true"
	    " ON CONFLICT (tbl) DO UPDATE SET high = max(high, excluded.high)",
	};

	/* Ids are never handed out again after an erasure. */
	for (size_t i = 0; i < sizeof(retire) / sizeof(retire[0]); i++) {
		int r = store_exec(c->st, retire[i], NULL);

		if (r < 0)
			return cmd_store_fail(c, r, "retired ids");
	}
	for (size_t i = 0; i < sizeof(deletions) / sizeof(deletions[0]); i++) {
		int r = store_exec(c->st, deletions[i].sql, "i", id);

		if (r < 0)
			return cmd_store_fail(c, r, deletions[i].table);
		if (json_object_set_new(counts, deletions[i].table,
					json_integer(r)))
			return cmd_store_fail(c, -ENOMEM, "erasure");
	}
	return 0;
}

int erase_citizen(struct cmd_ctx *c, int64_t id, bool force)
{
	json_t *counts = NULL;
	bool forced;
	char now[32];
	int r;

	if (rule_retention(c, id, force, &forced) < 0)
		return -1;
	/* Nothing may leave after this: unsent rows are cancelled and the
	 * transfers in flight aborted before they go. */
	r = outbox_cancel(c->k, &(struct outbox_scope){.citizen_id = id},
			  "citizen erased");
	if (r < 0)
		return cmd_store_fail(c, r, "outbox");
	txn_mark(c->k, TXN_ERASED); /* the file is rewritten after commit */
	counts = json_object();
	if (!counts)
		return cmd_store_fail(c, -ENOMEM, "erasure");
	/* The outbox forgets the citizen first: its rows point at the
	 * plans and contacts deleted next. */
	r = outbox_erase_citizen(c->k, id, counts);
	if (r < 0) {
		cmd_store_fail(c, r, "outbox");
		goto fail;
	}
	if (delete_all(c, id, counts) < 0)
		goto fail;
	store_now(now);
	r = store_exec(c->st,
		       "INSERT INTO erasures (citizen_id, at, by, forced)"
		       " VALUES (?, ?, ?, ?)",
		       "issi", id, now, c->who->user, (int64_t)forced);
	if (r < 0) {
		cmd_store_fail(c, r, "erasure");
		goto fail;
	}
	snprintf(c->object, sizeof(c->object), "erasure:%lld",
		 (long long)store_last_id(c->st));
	r = event_emit(c->k, "citizen.erased", id, 0, NULL);
	if (r < 0) {
		cmd_store_fail(c, r, "event");
		goto fail;
	}
	return cmd_ok(c, json_pack("{s:I, s:b, s:o}", "id", (json_int_t)id,
				   "forced", forced, "deleted", counts));
fail:
	json_decref(counts);
	return -1;
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (int64_t)(t1.tv_sec - t0->tv_sec) * 1000 +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Moves every page of the WAL into the database and empties the WAL:
 * the old page images of deleted rows go with it (the pages in the
 * database were zeroed by secure_delete). False (logged) when it could
 * not finish. */
static bool truncate_wal(sqlite3 *db)
{
	int frames = -1, done = -1;
	/* sqlite3_wal_checkpoint_v2 rather than the PRAGMA through
	 * sqlite3_exec: it reports a checkpoint that could not finish as
	 * SQLITE_BUSY instead of in a result row. */
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
					   &frames, &done);

	if (rc != SQLITE_OK)
		log_err("erase: WAL checkpoint failed (%s, %d of %d frames); "
			"the WAL may still hold deleted data",
			sqlite3_errmsg(db), done, frames);
	return rc == SQLITE_OK;
}

void erase_after_commit(struct kipd *k)
{
	sqlite3 *db = store_db(k->store);
	struct timespec t0;
	char *msg = NULL;
	int rc;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* VACUUM writes the new copy through the WAL; the checkpoint after
	 * it is what leaves the WAL empty. It runs even when VACUUM fails,
	 * so that the old page images in the WAL go in any case (the pages
	 * in the database were zeroed by secure_delete). */
	rc = sqlite3_exec(db, "VACUUM", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		log_err("erase: VACUUM failed (%s); deleted rows are zeroed "
			"but the file keeps its layout until the next erasure",
			msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	ok = rc == SQLITE_OK;
	ok = truncate_wal(db) && ok;
	log_msg(ok ? LOG_NOTICE : LOG_ERR, "erase: store %s in %lld ms",
		ok ? "rewritten, WAL truncated" : "scrub incomplete",
		(long long)ms_since(&t0));
}

void erase_scrub_wal(struct kipd *k)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (truncate_wal(store_db(k->store)))
		log_info("erase: WAL truncated after withdrawn mail in %lld ms",
			 (long long)ms_since(&t0));
}
