/* cmd_contact.c — the network: professionals (a shared directory) and the
 * relatives and supporters of one citizen (visible only through that
 * citizen, and relatives only while the citizen consents to involving
 * them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "access.h"
#include "cmd.h"
#include "distribute.h"
#include "directory.h"

static const char *const kinds[] = {"professional", "relative", "supporter",
				    NULL};
/* auto: AES-GCM only once the contact's own signed mail announced it.
 * Whatever the mail to a contact is made of, add, show and update say in
 * "warnings" which readers cannot open it (cipher.h). */
static const char *const policies[] = {"auto", "gcm", "cbc", NULL};
/* private: what reaches it in clear names neither the service nor the kind
 * of plan (wording.h); a relative's and a supporter's always is. */
static const char *const mailboxes[] = {"work", "private", NULL};
/* pdf: without a usable certificate, the plan as an encrypted PDF whose
 * passphrase the coordinator gives by phone (pdfpass.h); auto: a neutral
 * notice and manual delivery. */
static const char *const deliveries[] = {"auto", "pdf", NULL};

static const char contact_columns[] =
    "SELECT id, kind, citizen_id, name, title, organisation, email, phone,"
    " cert_fingerprint, cert_email, cert_not_after, cipher_policy,"
    " cert_source, cert_source_at,"
    " caps_gcm, CASE WHEN private_mailbox OR kind <> 'professional'"
    " THEN 'private' ELSE 'work' END AS mailbox, delivery,"
    " created_at, updated_at FROM contacts WHERE id = ?";

/* MAILBOX (NULL: not given) for a contact of KIND; -1 after cmd_fail(). */
static int mailbox_rules(struct cmd_ctx *c, const char *kind,
			 const char *mailbox)
{
	if (mailbox && strcmp(mailbox, "work") == 0 &&
	    strcmp(kind, "professional") != 0)
		return cmd_fail(c, "bad_request",
				"a %s's mailbox is always private: what "
				"reaches it in clear names no service",
				kind);
	return 0;
}

/* The rules for a contact that belongs to a citizen's private network. */
static int network_rules(struct cmd_ctx *c, const char *kind,
			 int64_t citizen_id)
{
	if (access_citizen(c, citizen_id) < 0)
		return -1;
	return rule_consent(c, citizen_id,
			    strcmp(kind, "relative") == 0 ? "relatives"
							  : "plan");
}

/* A contact without a certificate is looked up in the directories; one
 * that cannot answer now is tried again later (directory.h). -1 only
 * when the store fails. */
static int lookup_cert(struct cmd_ctx *c, int64_t id)
{
	int r = directory_lookup_contact(c->k, c->who, id);

	return r < 0 && r != -EAGAIN ? cmd_store_fail(c, r, "contact") : 0;
}

int cmd_contact_add(struct cmd_ctx *c)
{
	const char *kind, *name, *title = NULL, *org = NULL, *email = NULL;
	const char *phone = NULL, *pem = NULL, *policy = "auto";
	const char *mailbox = NULL, *delivery = "auto";
	int64_t citizen = 0, id;
	struct cert_info ci;
	json_t *warnings;
	char now[32];
	int hascert, r;

	if (arg_choice(c, "kind", true, kinds, &kind) < 0 ||
	    arg_text(c, "name", true, 200, &name) < 0 ||
	    arg_text(c, "title", false, 200, &title) < 0 ||
	    arg_text(c, "organisation", false, 200, &org) < 0 ||
	    arg_email(c, "email", false, &email) < 0 ||
	    arg_text(c, "phone", false, 40, &phone) < 0 ||
	    arg_int(c, "citizen", false, &citizen) < 0 ||
	    arg_choice(c, "cipher", false, policies, &policy) < 0 ||
	    arg_choice(c, "mailbox", false, mailboxes, &mailbox) < 0 ||
	    arg_choice(c, "delivery", false, deliveries, &delivery) < 0 ||
	    (hascert = arg_cert(c, email, &ci)) < 0 ||
	    mailbox_rules(c, kind, mailbox) < 0)
		return -1;
	if (strcmp(kind, "professional") == 0) {
		if (citizen)
			return cmd_fail(c, "bad_request",
					"a professional belongs to no single "
					"citizen; leave out 'citizen'");
		if (!email)
			return cmd_fail(c, "bad_request",
					"a professional needs an e-mail "
					"address");
	} else {
		if (!citizen)
			return cmd_fail(c, "bad_request",
					"a %s belongs to a citizen; give "
					"'citizen'",
					kind);
		if (network_rules(c, kind, citizen) < 0)
			return -1;
	}
	if (hascert)
		pem = json_string_value(json_object_get(c->args, "cert_pem"));
	store_now(now);
	r = store_exec(
	    c->st,
	    "INSERT INTO contacts (id, kind, citizen_id, name, title,"
	    " organisation, email, phone, cert_pem, cert_fingerprint,"
	    " cert_email, cert_not_after, created_at, created_by,"
	    " cipher_policy, private_mailbox, cert_source, cert_source_at,"
	    " delivery)"
	    " VALUES (" NEXT_ID("contacts") ", ?, NULLIF(?, 0),"
					    " ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	    "sissssssssssssisss", kind, citizen, name, title, org, email, phone,
	    pem, hascert ? ci.fingerprint : NULL, hascert ? ci.email : NULL,
	    hascert ? ci.not_after : NULL, now, c->who->user, policy,
	    (int64_t)(mailbox && strcmp(mailbox, "private") == 0),
	    hascert ? "import" : NULL, hascert ? now : NULL, delivery);
	if (r == -EEXIST)
		return cmd_fail(c, "conflict",
				"a professional with this e-mail address "
				"already exists");
	if (r < 0)
		return cmd_store_fail(c, r, "contact");
	id = store_last_id(c->st);
	snprintf(c->object, sizeof(c->object), "contact:%lld", (long long)id);
	if (lookup_cert(c, id) < 0 ||
	    cmd_cipher_warnings(c, false, id, &warnings) < 0)
		return -1;
	return cmd_ok(c, json_pack("{s:I, s:o}", "id", (json_int_t)id,
				   "warnings", warnings));
}

static const char *row_kind(json_t *row)
{
	return json_string_value(json_object_get(row, "kind"));
}

/* Reads a contact and applies the visibility rules; *ret on success. */
static int load_contact(struct cmd_ctx *c, int64_t id, bool write, json_t **ret)
{
	json_t *row;
	const char *kind;
	int r = store_row(c->st, &row, contact_columns, "i", id);

	if (r < 0)
		return cmd_store_fail(c, r, "contact");
	snprintf(c->object, sizeof(c->object), "contact:%lld", (long long)id);
	kind = json_string_value(json_object_get(row, "kind"));
	if (strcmp(kind, "professional") != 0) {
		int64_t citizen =
		    json_integer_value(json_object_get(row, "citizen_id"));

		if (write ? network_rules(c, kind, citizen) < 0
			  : access_citizen(c, citizen) < 0 ||
				(strcmp(kind, "relative") == 0 &&
				 rule_consent(c, citizen, "relatives") < 0)) {
			json_decref(row);
			return -1;
		}
	}
	*ret = row;
	return 0;
}

/* ROW's "mail": how a plan reaches contact ID now (distribute.h). */
static int mail_route(struct cmd_ctx *c, int64_t id, json_t *row)
{
	char route[300];
	json_t *r;
	int e =
	    store_row(c->st, &r,
		      "SELECT id AS contact_id, kind, name, email, cert_pem,"
		      " cipher_policy, caps_gcm, private_mailbox, delivery"
		      " FROM contacts WHERE id = ?",
		      "i", id);

	if (e < 0)
		return cmd_store_fail(c, e, "contact");
	distribute_route(c->k, r, route, sizeof(route));
	json_decref(r);
	if (json_object_set_new(row, "mail", json_string(route)))
		return cmd_store_fail(c, -ENOMEM, "contact");
	return 0;
}

int cmd_contact_show(struct cmd_ctx *c)
{
	json_t *row, *plans, *warnings;
	int64_t id;
	int r;

	if (arg_int(c, "id", true, &id) < 0 || load_contact(c, id, false, &row))
		return -1;
	/* Plans are listed only for the caller's own reach. */
	r = store_rows(c->st, &plans,
		       "SELECT m.plan_id AS plan FROM plan_members m"
		       " WHERE m.contact_id = ? AND (? OR EXISTS (SELECT 1"
		       "  FROM plan_members me WHERE me.plan_id = m.plan_id"
		       "  AND me.contact_id = ?)) ORDER BY m.plan_id",
		       "iii", id, (int64_t)(c->who->role == ROLE_ADMIN),
		       c->who->contact_id);
	if (r < 0 || json_object_set_new(row, "plans", plans)) {
		json_decref(row);
		return cmd_store_fail(c, r < 0 ? r : -ENOMEM, "contact");
	}
	if (cmd_cipher_warnings(c, false, id, &warnings) < 0) {
		json_decref(row);
		return -1;
	}
	if (json_object_set_new(row, "warnings", warnings)) {
		json_decref(row);
		return cmd_store_fail(c, -ENOMEM, "contact");
	}
	if (mail_route(c, id, row) < 0) {
		json_decref(row);
		return -1;
	}
	return cmd_ok(c, row);
}

int cmd_contact_list(struct cmd_ctx *c)
{
	const char *kind = NULL;
	int64_t citizen = 0;
	json_t *rows;
	int r, relatives = 0;

	if (arg_int(c, "citizen", false, &citizen) < 0 ||
	    arg_choice(c, "kind", false, kinds, &kind) < 0)
		return -1;
	if (citizen) {
		if (access_citizen(c, citizen) < 0)
			return -1;
		relatives = consent_active(c, citizen, "relatives");
	}
	r = store_rows(
	    c->st, &rows,
	    "SELECT id, kind, name, title, organisation, email, phone"
	    " FROM contacts WHERE (? IS NULL OR kind = ?) AND"
	    " ((? = 0 AND kind = 'professional') OR"
	    "  (citizen_id = ? AND (kind <> 'relative' OR ?)))"
	    " ORDER BY id",
	    "ssiii", kind, kind, citizen, citizen, (int64_t)relatives);
	if (r < 0)
		return cmd_store_fail(c, r, "contacts");
	return cmd_ok(c, json_pack("{s:o}", "contacts", rows));
}

int cmd_contact_update(struct cmd_ctx *c)
{
	const char *name = NULL, *title = NULL, *org = NULL, *email = NULL;
	const char *phone = NULL, *pem = NULL, *policy = NULL;
	const char *mailbox = NULL, *delivery = NULL;
	struct cert_info ci;
	json_t *row, *warnings;
	char now[32];
	int64_t id;
	int hascert, r;

	if (arg_int(c, "id", true, &id) < 0 || load_contact(c, id, true, &row))
		return -1;
	if (arg_text(c, "name", false, 200, &name) < 0 ||
	    arg_text(c, "title", false, 200, &title) < 0 ||
	    arg_text(c, "organisation", false, 200, &org) < 0 ||
	    arg_email(c, "email", false, &email) < 0 ||
	    arg_text(c, "phone", false, 40, &phone) < 0 ||
	    arg_choice(c, "cipher", false, policies, &policy) < 0 ||
	    arg_choice(c, "mailbox", false, mailboxes, &mailbox) < 0 ||
	    arg_choice(c, "delivery", false, deliveries, &delivery) < 0 ||
	    mailbox_rules(c, row_kind(row), mailbox) < 0 ||
	    (hascert = arg_cert(
		 c,
		 email ? email
		       : json_string_value(json_object_get(row, "email")),
		 &ci)) < 0) {
		json_decref(row);
		return -1;
	}
	json_decref(row);
	if (hascert)
		pem = json_string_value(json_object_get(c->args, "cert_pem"));
	/* A certificate names one address: a new address without a new
	 * certificate leaves none rather than a wrong one. */
	if (email && !hascert &&
	    store_exec(c->st,
		       "UPDATE contacts SET cert_pem = NULL,"
		       " cert_fingerprint = NULL, cert_email = NULL,"
		       " cert_not_after = NULL, cert_source = NULL,"
		       " cert_source_at = NULL WHERE id = ?"
		       " AND lower(coalesce(cert_email, '')) <> lower(?)",
		       "is", id, email) < 0)
		return cmd_store_fail(c, -EIO, "certificate");
	store_now(now);
	r = store_exec(
	    c->st,
	    "UPDATE contacts SET name = coalesce(?, name),"
	    " title = coalesce(?, title),"
	    " organisation = coalesce(?, organisation),"
	    " email = coalesce(?, email), phone = coalesce(?, phone),"
	    " cert_pem = coalesce(?, cert_pem),"
	    " cert_fingerprint = coalesce(?, cert_fingerprint),"
	    " cert_email = coalesce(?, cert_email),"
	    " cert_not_after = coalesce(?, cert_not_after),"
	    " cipher_policy = coalesce(?, cipher_policy),"
	    " private_mailbox = coalesce(? = 'private', private_mailbox),"
	    " cert_source = coalesce(?, cert_source),"
	    " cert_source_at = coalesce(?, cert_source_at),"
	    " delivery = coalesce(?, delivery),"
	    " updated_at = ? WHERE id = ?",
	    "sssssssssssssssi", name, title, org, email, phone, pem,
	    hascert ? ci.fingerprint : NULL, hascert ? ci.email : NULL,
	    hascert ? ci.not_after : NULL, policy, mailbox,
	    hascert ? "import" : NULL, hascert ? now : NULL, delivery, now, id);
	if (r == -EEXIST)
		return cmd_fail(c, "conflict",
				"a professional with this e-mail address "
				"already exists");
	if (r < 0)
		return cmd_store_fail(c, r, "contact");
	if (lookup_cert(c, id) < 0 ||
	    cmd_cipher_warnings(c, false, id, &warnings) < 0)
		return -1;
	return cmd_ok(c, json_pack("{s:I, s:o}", "id", (json_int_t)id,
				   "warnings", warnings));
}
