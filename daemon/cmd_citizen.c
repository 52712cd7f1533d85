/* cmd_citizen.c — citizens and their consent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"
#include "access.h"
#include "clock.h"
#include "cmd.h"
#include "erase.h"
#include "event.h"
#include "outbox.h"
#include "validate.h"

#define NAME_MAX_LEN 200
#define ADDRESS_MAX_LEN 300
#define PHONE_MAX_LEN 40
#define REF_MAX_LEN 200

static const char *const scopes[] = {"plan", "relatives", NULL};
/* As a contact's (cmd_contact.c): pdf, the encrypted PDF (pdfpass.h). */
static const char *const deliveries[] = {"auto", "pdf", NULL};

int cmd_citizen_add(struct cmd_ctx *c)
{
	const char *name, *cpr, *address, *phone, *email = NULL, *pem = NULL;
	const char *delivery = "auto";
	struct cert_info ci;
	char now[32], err[128];
	int hascert, r;

	if (arg_text(c, "name", true, NAME_MAX_LEN, &name) < 0 ||
	    arg_text(c, "cpr", true, 11, &cpr) < 0 ||
	    arg_text(c, "address", true, ADDRESS_MAX_LEN, &address) < 0 ||
	    arg_text(c, "phone", true, PHONE_MAX_LEN, &phone) < 0 ||
	    arg_email(c, "email", false, &email) < 0 ||
	    arg_choice(c, "delivery", false, deliveries, &delivery) < 0 ||
	    (hascert = arg_cert(c, email, &ci)) < 0)
		return -1;
	if (cpr_check(cpr, NULL, err, sizeof(err)) < 0)
		return cmd_fail(c, "bad_request", "%s", err);
	if (hascert)
		pem = json_string_value(json_object_get(c->args, "cert_pem"));
	store_now(now);
	r = store_exec(
	    c->st,
	    "INSERT INTO citizens (id, name, cpr, address, phone,"
	    " email, cert_pem, cert_fingerprint, cert_email,"
	    " cert_not_after, created_at, created_by, delivery)"
	    " VALUES (" NEXT_ID("citizens") ",?,?,?,?,?,?,?,?,?,?,?,?)",
	    "ssssssssssss", name, cpr, address, phone, email, pem,
	    hascert ? ci.fingerprint : NULL, hascert ? ci.email : NULL,
	    hascert ? ci.not_after : NULL, now, c->who->user, delivery);
	if (r == -EEXIST)
		return cmd_fail(c, "conflict",
				"a citizen with this CPR number is already "
				"registered; ask an administrator");
	if (r < 0)
		return cmd_store_fail(c, r, "citizen");
	c->citizen_id = store_last_id(c->st);
	return cmd_ok(c, json_pack("{s:I}", "id", (json_int_t)c->citizen_id));
}

static int consent_state(struct cmd_ctx *c, int64_t id, json_t *into)
{
	for (size_t i = 0; scopes[i]; i++) {
		char key[32];

		snprintf(key, sizeof(key), "consent_%s", scopes[i]);
		if (json_object_set_new(
			into, key,
			json_boolean(consent_active(c, id, scopes[i]))))
			return -ENOMEM;
	}
	return 0;
}

int cmd_citizen_show(struct cmd_ctx *c)
{
	json_t *row, *plans;
	int64_t id;
	int r;

	if (arg_int(c, "id", true, &id) < 0 || access_citizen(c, id) < 0)
		return -1;
	r = store_row(c->st, &row,
		      "SELECT id, name, cpr, address, phone, email,"
		      " cert_fingerprint, cert_email, cert_not_after,"
		      " delivery, created_at, created_by, updated_at"
		      " FROM citizens WHERE id = ?",
		      "i", id);
	if (r < 0)
		return cmd_store_fail(c, r, "citizen");
	r = store_rows(c->st, &plans,
		       "SELECT id, status, created_at FROM plans"
		       " WHERE citizen_id = ? ORDER BY id",
		       "i", id);
	if (r < 0 || json_object_set_new(row, "plans", plans) ||
	    consent_state(c, id, row) < 0) {
		json_decref(row);
		return cmd_store_fail(c, r < 0 ? r : -ENOMEM, "citizen");
	}
	return cmd_ok(c, row);
}

int cmd_citizen_list(struct cmd_ctx *c)
{
	int64_t limit = 50, offset = 0, all = c->who->role == ROLE_ADMIN;
	const char *cpr = NULL;
	json_t *rows, *row;
	size_t i;
	int r;

	if (arg_text(c, "cpr", false, 11, &cpr) < 0 ||
	    arg_int(c, "limit", false, &limit) < 0 ||
	    arg_int(c, "offset", false, &offset) < 0)
		return -1;
	if (limit < 1 || limit > 1000)
		return cmd_fail(c, "bad_request", "limit must be 1..1000");
	r = store_rows(
	    c->st, &rows,
	    "SELECT c.id, c.name, c.cpr FROM citizens c WHERE"
	    " (? OR c.created_by = ? OR EXISTS (SELECT 1 FROM plans p"
	    "  JOIN plan_members m ON m.plan_id = p.id"
	    "  WHERE p.citizen_id = c.id AND m.contact_id = ?))"
	    " AND (? IS NULL OR c.cpr = ?)"
	    " ORDER BY c.id LIMIT ? OFFSET ?",
	    "isissii", all, c->who->user, c->who->contact_id, cpr, cpr, limit,
	    offset);
	if (r < 0)
		return cmd_store_fail(c, r, "citizens");
	/* Every citizen shown is a read of that citizen's data. */
	json_array_foreach(rows, i, row)
	{
		int64_t id = json_integer_value(json_object_get(row, "id"));

		r = audit_add(c, "citizen.list", "ok", id, 0, NULL);
		if (r < 0) {
			json_decref(rows);
			return cmd_store_fail(c, r, "audit");
		}
	}
	c->audited = true;
	return cmd_ok(c, json_pack("{s:o}", "citizens", rows));
}

int cmd_citizen_update(struct cmd_ctx *c)
{
	const char *name = NULL, *address = NULL, *phone = NULL, *email = NULL;
	const char *pem = NULL, *delivery = NULL;
	struct cert_info ci;
	char now[32], *old_email = NULL;
	int64_t id;
	int hascert, r;

	if (arg_int(c, "id", true, &id) < 0 || access_citizen(c, id) < 0 ||
	    arg_text(c, "name", false, NAME_MAX_LEN, &name) < 0 ||
	    arg_text(c, "address", false, ADDRESS_MAX_LEN, &address) < 0 ||
	    arg_text(c, "phone", false, PHONE_MAX_LEN, &phone) < 0 ||
	    arg_email(c, "email", false, &email) < 0 ||
	    arg_choice(c, "delivery", false, deliveries, &delivery) < 0)
		return -1;
	if (!email) {
		r = store_text(c->st, &old_email,
			       "SELECT email FROM citizens WHERE id = ?", "i",
			       id);
		if (r < 0)
			return cmd_store_fail(c, r, "citizen");
	}
	hascert = arg_cert(c, email ? email : old_email, &ci);
	free(old_email);
	if (hascert < 0)
		return -1;
	if (hascert)
		pem = json_string_value(json_object_get(c->args, "cert_pem"));
	/* A certificate names one address: a new address without a new
	 * certificate leaves none rather than a wrong one. */
	if (email && !hascert &&
	    store_exec(c->st,
		       "UPDATE citizens SET cert_pem = NULL,"
		       " cert_fingerprint = NULL, cert_email = NULL,"
		       " cert_not_after = NULL WHERE id = ?"
		       " AND lower(coalesce(cert_email, '')) <> lower(?)",
		       "is", id, email) < 0)
		return cmd_store_fail(c, -EIO, "certificate");
	store_now(now);
	r = store_exec(
	    c->st,
	    "UPDATE citizens SET name = coalesce(?, name),"
	    " address = coalesce(?, address),"
	    " phone = coalesce(?, phone), email = coalesce(?, email),"
	    " cert_pem = coalesce(?, cert_pem),"
	    " cert_fingerprint = coalesce(?, cert_fingerprint),"
	    " cert_email = coalesce(?, cert_email),"
	    " cert_not_after = coalesce(?, cert_not_after),"
	    " delivery = coalesce(?, delivery),"
	    " updated_at = ? WHERE id = ?",
	    "ssssssssssi", name, address, phone, email, pem,
	    hascert ? ci.fingerprint : NULL, hascert ? ci.email : NULL,
	    hascert ? ci.not_after : NULL, delivery, now, id);
	if (r < 0)
		return cmd_store_fail(c, r, "citizen");
	return cmd_ok(c, json_pack("{s:I}", "id", (json_int_t)id));
}

static int record_consent(struct cmd_ctx *c, const char *action)
{
	const char *scope, *date, *doc = NULL;
	char now[32], today[11];
	bool active;
	int64_t id;
	int r;

	if (arg_int(c, "citizen", true, &id) < 0 || access_citizen(c, id) < 0 ||
	    arg_choice(c, "scope", true, scopes, &scope) < 0 ||
	    arg_date(c, "date", true, &date) < 0 ||
	    arg_text(c, "document", action[0] == 'g', REF_MAX_LEN, &doc) < 0)
		return -1;
	clock_today(today);
	if (date_cmp(date, today) > 0)
		return cmd_fail(c, "bad_request",
				"the consent date %s is in the future", date);
	active = consent_active(c, id, scope);
	if (action[0] == 'g' && active)
		return cmd_fail(c, "conflict", "consent (%s) is already given",
				scope);
	if (action[0] == 'w' && !active)
		return cmd_fail(c, "conflict", "consent (%s) is not given",
				scope);
	if (action[0] == 'g' && strcmp(scope, "relatives") == 0 &&
	    rule_consent(c, id, "plan") < 0)
		return -1;
	store_now(now);
	r = store_exec(c->st,
		       "INSERT INTO consents (citizen_id, scope, action, date,"
		       " document_ref, recorded_by, recorded_at)"
		       " VALUES (?,?,?,?,?,?,?)",
		       "issssss", id, scope, action, date, doc, c->who->user,
		       now);
	if (r < 0)
		return cmd_store_fail(c, r, "consent");
	if (action[0] == 'w') {
		/* Nothing more leaves for this citizen (or their relatives),
		 * at once. */
		struct outbox_scope sc = {.citizen_id = id};

		sc.relatives = strcmp(scope, "relatives") == 0;
		r = outbox_cancel(c->k, &sc,
				  sc.relatives ? "relatives consent withdrawn"
					       : "consent withdrawn");
		if (r < 0)
			return cmd_store_fail(c, r, "outbox");
	}
	r = event_emit(c->k,
		       action[0] == 'g' ? "consent.given" : "consent.withdrawn",
		       id, 0, json_pack("{s:s}", "scope", scope));
	if (r < 0)
		return cmd_store_fail(c, r, "event");
	snprintf(c->object, sizeof(c->object), "consent:%s", scope);
	return cmd_ok(c, json_pack("{s:I, s:s, s:s}", "citizen", (json_int_t)id,
				   "scope", scope, "consent", action));
}

int cmd_citizen_erase(struct cmd_ctx *c)
{
	json_t *fv = json_object_get(c->args, "force");
	int64_t id;

	if (fv && !json_is_boolean(fv) && !json_is_null(fv))
		return cmd_fail(c, "bad_request",
				"argument 'force' must be true or false");
	if (arg_int(c, "id", true, &id) < 0 || access_citizen(c, id) < 0)
		return -1;
	return erase_citizen(c, id, json_is_true(fv));
}

int cmd_consent_give(struct cmd_ctx *c)
{
	return record_consent(c, "given");
}

int cmd_consent_withdraw(struct cmd_ctx *c)
{
	return record_consent(c, "withdrawn");
}

int cmd_consent_show(struct cmd_ctx *c)
{
	json_t *hist, *o;
	int64_t id;
	int r;

	if (arg_int(c, "citizen", true, &id) < 0 || access_citizen(c, id) < 0)
		return -1;
	r = store_rows(c->st, &hist,
		       "SELECT id, scope, action, date, document_ref,"
		       " recorded_by, recorded_at FROM consents"
		       " WHERE citizen_id = ? ORDER BY id",
		       "i", id);
	if (r < 0)
		return cmd_store_fail(c, r, "consent");
	o = json_pack("{s:I, s:o}", "citizen", (json_int_t)id, "history", hist);
	if (!o || consent_state(c, id, o) < 0) {
		json_decref(o);
		return cmd_store_fail(c, -ENOMEM, "consent");
	}
	return cmd_ok(c, o);
}
