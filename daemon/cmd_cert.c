/* cmd_cert.c — S/MIME certificates: import one for a contact or a citizen,
 * and list them with their expiry (the weekly notice about those that
 * expire soon is certnotice.c); register organisation certificates for
 * mail domains (orgcert.h; administrators). An import answers, as contact show
 * does, with the "warnings" of cipher.h: which readers cannot open the mail to
 * the holder.
 *
 * Who sees what follows cmd_contact.c: professionals' certificates (a
 * shared directory) and the organisation's own are seen by every
 * coordinator; a citizen's, and those of the citizen's relatives and
 * supporters, only with access to the citizen; a relative's only while the
 * citizen consents to involving relatives (for admins too, as in
 * contact show). Every citizen's or relative's certificate shown is a read
 * of that citizen's data and audited as such.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "cert.h"
#include "certnotice.h"
#include "clock.h"
#include "cmd.h"
#include "directory.h"
#include "orgdomain.h"
#include "rowval.h"
#include "smime.h"
#include "store.h"

#define DAYS_MAX 36500

/* --- SQL -------------------------------------------------------------- */

/* access_citizen() in SQL: ?6 admin, ?7 the caller's contact, ?8 user. */
#define SEES(x)                                                                \
	"(?6 OR EXISTS (SELECT 1 FROM plans p JOIN plan_members m"             \
	" ON m.plan_id = p.id WHERE p.citizen_id = " x                         \
	" AND m.contact_id = ?7) OR EXISTS (SELECT 1 FROM citizens v"          \
	" WHERE v.id = " x " AND v.created_by = ?8))"

/* Every certificate the caller may see: the organisation's (?1..?4, left
 * out when ?4 is NULL), those registered for mail domains (kind 'domain',
 * the domain as the name), contacts', citizens'; with ?5 only those whose
 * not_after is at or before it. */
#define CERTS                                                                  \
	"SELECT kind, id, citizen_id, name, email, fingerprint, not_after"     \
	" FROM (SELECT 'organisation' AS kind, 0 AS id, NULL AS citizen_id,"   \
	" ?1 AS name, ?2 AS email, ?3 AS fingerprint, ?4 AS not_after"         \
	" WHERE ?4 IS NOT NULL"                                                \
	" UNION ALL SELECT 'domain', 0, NULL, d.domain, NULL, d.fingerprint,"  \
	" d.not_after FROM domain_certs d"                                     \
	" UNION ALL SELECT k.kind, k.id, k.citizen_id, k.name, k.cert_email,"  \
	" k.cert_fingerprint, k.cert_not_after FROM contacts k"                \
	" WHERE k.cert_pem IS NOT NULL AND (k.kind = 'professional' OR"        \
	" (" SEES("k.citizen_id") " AND (k.kind <> 'relative' "                \
				  "OR " RELATIVES_CONSENT_SQL(                 \
				      "k.citizen_id") ")))"                    \
						      " UNION ALL SELECT "     \
						      "'citizen', c.id, "      \
						      "c.id, c.name, "         \
						      "c.cert_email,"          \
						      " c.cert_fingerprint, "  \
						      "c.cert_not_after FROM " \
						      "citizens c"             \
						      " WHERE c.cert_pem IS "  \
						      "NOT NULL AND " SEES(    \
							  "c.id") ")"          \
								  " WHERE ?5 " \
								  "IS NULL "   \
								  "OR "        \
								  "not_after " \
								  "<= ?5"

static const char list_sql[] =
    CERTS " ORDER BY CASE kind WHEN 'organisation' THEN 0 WHEN 'domain' THEN 1"
	  " WHEN 'professional' THEN 2 WHEN 'citizen' THEN 3 ELSE 4 END,"
	  " id, name";
static const char expiring_sql[] = CERTS " ORDER BY not_after, kind, id";

/* --- helpers ---------------------------------------------------------- */

/* Whole days from NOW to NOT_AFTER, negative once expired; null if the
 * stored time cannot be read. */
static json_t *days_left(const char *not_after, time_t now)
{
	struct tm tm;
	const char *end;
	time_t diff;

	memset(&tm, 0, sizeof(tm));
	end = not_after ? strptime(not_after, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
	if (!end || *end)
		return json_null();
	diff = timegm(&tm) - now;
	return json_integer(diff >= 0 ? diff / 86400
				      : -((-diff + 86399) / 86400));
}

/* --- cert.import ------------------------------------------------------ */

/*
 * The contact's address after cmd_contact.c's rules for a change: any
 * coordinator for a professional; for a relative or supporter, access to
 * the citizen and the consent that covers them (rule consent-relatives,
 * rule consent). 0 with *ret (a row with "email"), or cmd_fail()'s -1.
 */
static int contact_target(struct cmd_ctx *c, int64_t id, json_t **ret)
{
	const char *kind;
	int64_t citizen;
	json_t *row;
	int r;

	r = store_row(
	    c->st, &row,
	    "SELECT kind, citizen_id, email FROM contacts WHERE id = ?", "i",
	    id);
	if (r < 0)
		return cmd_store_fail(c, r, "contact");
	snprintf(c->object, sizeof(c->object), "contact:%lld", (long long)id);
	kind = row_str(row, "kind");
	citizen = row_num(row, "citizen_id");
	if (strcmp(kind, "professional") != 0 &&
	    (access_citizen(c, citizen) < 0 ||
	     rule_consent(c, citizen,
			  strcmp(kind, "relative") == 0 ? "relatives"
							: "plan") < 0)) {
		json_decref(row);
		return -1;
	}
	*ret = row;
	return 0;
}

static int citizen_target(struct cmd_ctx *c, int64_t id, json_t **ret)
{
	int r;

	if (access_citizen(c, id) < 0)
		return -1;
	r = store_row(c->st, ret, "SELECT email FROM citizens WHERE id = ?",
		      "i", id);
	return r < 0 ? cmd_store_fail(c, r, "citizen") : 0;
}

int cmd_cert_import(struct cmd_ctx *c)
{
	int64_t contact = 0, citizen = 0, id;
	const char *pem, *email, *what;
	struct cert_info ci;
	json_t *row, *warnings;
	char now[32], err[256];
	int r;

	if (arg_longtext(c, "file", true, 64 * 1024, &pem) < 0 ||
	    arg_int(c, "contact", false, &contact) < 0 ||
	    arg_int(c, "citizen", false, &citizen) < 0)
		return -1;
	if (!contact == !citizen)
		return cmd_fail(c, "bad_request",
				"give exactly one of 'contact' and 'citizen'");
	what = contact ? "contact" : "citizen";
	id = contact ? contact : citizen;
	if ((contact ? contact_target(c, id, &row)
		     : citizen_target(c, id, &row)) < 0)
		return -1;
	email = row_str(row, "email");
	if (!email)
		r = cmd_fail(c, "bad_request",
			     "%s %lld has no e-mail address; a certificate "
			     "needs one to go with it",
			     what, (long long)id);
	else if (cert_check_trusted(c->k->trust, pem, email, clock_now(), &ci,
				    err, sizeof(err)) < 0)
		r = cmd_fail(c, "bad_request", "%s", err);
	else
		r = 0;
	json_decref(row);
	if (r < 0)
		return r;
	store_now(now);
	r = store_exec(c->st,
		       contact ? "UPDATE contacts SET cert_pem = ?,"
				 " cert_fingerprint = ?, cert_email = ?,"
				 " cert_not_after = ?, updated_at = ?,"
				 " cert_source = 'import',"
				 " cert_source_at = updated_at"
				 " WHERE id = ?"
			       : "UPDATE citizens SET cert_pem = ?,"
				 " cert_fingerprint = ?, cert_email = ?,"
				 " cert_not_after = ?, updated_at = ?"
				 " WHERE id = ?",
		       "sssssi", pem, ci.fingerprint, ci.email, ci.not_after,
		       now, id);
	if (r < 0)
		return cmd_store_fail(c, r, what);
	if (cmd_cipher_warnings(c, !contact, id, &warnings) < 0)
		return -1;
	return cmd_ok(c,
		      json_pack("{s:s, s:I, s:s, s:s, s:s, s:o}", "kind", what,
				"id", (json_int_t)id, "fingerprint",
				ci.fingerprint, "email", ci.email, "not_after",
				ci.not_after, "warnings", warnings));
}

/* --- cert.list, cert.expiring ----------------------------------------- */

/* The certificates the caller may see (UNTIL: only those expiring by
 * then; NULL: all), each with days_left. Audits every citizen's or
 * relative's certificate shown under ACTION. */
static int list_certs(struct cmd_ctx *c, const char *action, const char *sql,
		      const char *until, json_t **ret)
{
	struct kipd *k = c->k;
	struct cert_info org;
	bool has_org = cert_org(k, &org) == 0;
	time_t now = clock_now();
	json_t *rows, *row;
	size_t i;
	int r;

	r = store_rows(
	    c->st, &rows, sql, "sssssiis", has_org ? k->cfg->org_name : NULL,
	    has_org ? org.email : NULL, has_org ? org.fingerprint : NULL,
	    has_org ? org.not_after : NULL, until,
	    (int64_t)(c->who->role == ROLE_ADMIN), c->who->contact_id,
	    c->who->user);
	if (r < 0)
		return cmd_store_fail(c, r, "certificates");
	json_array_foreach(rows, i, row)
	{
		int64_t citizen = row_num(row, "citizen_id");
		char object[64];

		if (json_object_set_new(
			row, "days_left",
			days_left(row_str(row, "not_after"), now))) {
			r = -ENOMEM;
			break;
		}
		if (!citizen)
			continue;
		snprintf(object, sizeof(object), "contact:%lld",
			 (long long)row_num(row, "id"));
		r = audit_add(c, action, "ok", citizen, 0,
			      strcmp(row_str(row, "kind"), "citizen") == 0
				  ? NULL
				  : object);
		if (r < 0)
			break;
	}
	if (r < 0) {
		json_decref(rows);
		return cmd_store_fail(c, r, "certificates");
	}
	c->audited = true;
	*ret = rows;
	return 0;
}

int cmd_cert_list(struct cmd_ctx *c)
{
	json_t *rows = NULL;

	if (list_certs(c, "cert.list", list_sql, NULL, &rows) < 0)
		return -1;
	return cmd_ok(c, json_pack("{s:o}", "certificates", rows));
}

int cmd_cert_expiring(struct cmd_ctx *c)
{
	char until[32];
	json_t *rows = NULL;
	int64_t days;

	if (arg_int(c, "days", true, &days) < 0)
		return -1;
	if (days > DAYS_MAX)
		return cmd_fail(c, "bad_request", "days must be 0..%d",
				DAYS_MAX);
	cert_iso_after(clock_now(), days, until);
	if (list_certs(c, "cert.expiring", expiring_sql, until, &rows) < 0)
		return -1;
	return cmd_ok(c, json_pack("{s:I, s:o}", "days", (json_int_t)days,
				   "certificates", rows));
}

/* --- cert.domain.add, .list, .remove: organisation certificates ------- */

/* The "domain" argument, checked and in lower case. 0, or cmd_fail()'s
 * -1. */
static int arg_domain(struct cmd_ctx *c, char out[ORGDOMAIN_MAX])
{
	const char *in;
	char err[200];

	if (arg_text(c, "domain", true, ORGDOMAIN_MAX, &in) < 0)
		return -1;
	if (orgdomain_normalise(in, out, err, sizeof(err)) < 0)
		return cmd_fail(c, "bad_request", "%s", err);
	snprintf(c->object, sizeof(c->object), "domain:%s", out);
	return 0;
}

int cmd_cert_domain_add(struct cmd_ctx *c)
{
	char domain[ORGDOMAIN_MAX], err[256];
	bool accept = false;
	struct cert_info ci;
	const char *pem;
	int64_t had = 0;
	int r;

	if (arg_domain(c, domain) < 0 ||
	    arg_longtext(c, "cert_pem", true, 64 * 1024, &pem) < 0 ||
	    arg_bool(c, "accept_signatures", &accept) < 0)
		return -1;
	if (!c->k->trust)
		return cmd_fail(c, "bad_request",
				"kipd has no CA bundle (smime.ca_bundle) to "
				"check an organisation certificate with");
	/* The one check of every certificate kipd stores (cert.h): as mail
	 * to it is checked when it is sent, chain and CRL included. */
	if (cert_check_trusted(c->k->trust, pem, domain, clock_now(), &ci, err,
			       sizeof(err)) < 0)
		return cmd_fail(c, "bad_request",
				"organisation certificate for %s: %s", domain,
				err);
	r = store_int(c->st, &had,
		      "SELECT count(*) FROM domain_certs WHERE domain = ?", "s",
		      domain);
	if (r >= 0)
		r = store_exec(
		    c->st,
		    "INSERT INTO domain_certs (domain, cert_pem, fingerprint,"
		    " not_after, accept_signatures, added_by, added_at)"
		    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (domain) DO"
		    " UPDATE SET cert_pem = excluded.cert_pem,"
		    " fingerprint = excluded.fingerprint,"
		    " not_after = excluded.not_after,"
		    " accept_signatures = excluded.accept_signatures,"
		    " added_by = excluded.added_by,"
		    " added_at = excluded.added_at",
		    "ssssisi", domain, pem, ci.fingerprint, ci.not_after,
		    (int64_t)accept, c->who->user, (int64_t)clock_now());
	if (r < 0)
		return cmd_store_fail(c, r, "organisation certificate");
	return cmd_ok(c,
		      json_pack("{s:s, s:s, s:s, s:b, s:b}", "domain", domain,
				"fingerprint", ci.fingerprint, "not_after",
				ci.not_after, "accept_signatures", accept,
				"replaced", had > 0));
}

int cmd_cert_domain_list(struct cmd_ctx *c)
{
	time_t now = clock_now();
	json_t *rows, *row;
	size_t i;
	int r =
	    store_rows(c->st, &rows,
		       "SELECT domain, fingerprint, not_after,"
		       " accept_signatures <> 0 AS accept_signatures, added_by,"
		       " datetime(added_at, 'unixepoch') || 'Z' AS added"
		       " FROM domain_certs ORDER BY domain",
		       "");

	if (r < 0)
		return cmd_store_fail(c, r, "organisation certificates");
	json_array_foreach(rows, i, row)
	{
		json_object_set_new(
		    row, "accept_signatures",
		    json_boolean(row_num(row, "accept_signatures")));
		json_object_set_new(row, "days_left",
				    days_left(row_str(row, "not_after"), now));
	}
	return cmd_ok(c, json_pack("{s:o}", "domains", rows));
}

int cmd_cert_domain_remove(struct cmd_ctx *c)
{
	char domain[ORGDOMAIN_MAX];
	int r;

	if (arg_domain(c, domain) < 0)
		return -1;
	r = store_exec(c->st, "DELETE FROM domain_certs WHERE domain = ?", "s",
		       domain);
	if (r < 0)
		return cmd_store_fail(c, r, "organisation certificate");
	if (r == 0)
		return cmd_fail(c, "not_found",
				"no organisation certificate is registered "
				"for %s",
				domain);
	return cmd_ok(
	    c, json_pack("{s:s, s:b}", "domain", domain, "removed", true));
}

/* --- cert.lookup ------------------------------------------------------ */

/*
 * Looks an address up in the directories now, whatever is stored: what
 * each directory answered, every certificate found with why it was
 * chosen or refused. The one chosen is stored for the professionals with
 * that address (relatives, supporters and citizens get theirs through
 * contact add and update, and before a distribution, where the rules of
 * access apply). Audited as cert.lookup.
 */
int cmd_cert_lookup(struct cmd_ctx *c)
{
	const char *email;
	json_t *report = NULL;
	int r;

	if (arg_email(c, "email", true, &email) < 0)
		return -1;
	if (!c->k->cfg->n_directories)
		return cmd_fail(c, "unavailable",
				"no directory is configured "
				"(directory.servers in kipd.conf)");
	r = directory_lookup(c->k, c->who, email, 0, &report);
	if (r < 0 && r != -EAGAIN)
		return cmd_store_fail(c, r, "certificate");
	if (json_object_set_new(report, "outcome",
				json_string(r > 0    ? "found"
					    : r == 0 ? "none"
						     : "directory failed"))) {
		json_decref(report);
		return cmd_store_fail(c, -ENOMEM, "certificate");
	}
	return cmd_ok(c, report);
}
