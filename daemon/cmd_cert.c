/* cmd_cert.c — S/MIME certificates: import one for a contact or a citizen,
 * list them with their expiry, and the weekly notice about those that
 * expire soon (certnotice.h).
 *
 * Who sees what follows cmd_contact.c: professionals' certificates (a
 * shared directory) and the organisation's own are seen by every
 * coordinator; a citizen's, and those of the citizen's relatives and
 * supporters, only with access to the citizen; a relative's only while the
 * citizen consents to involving relatives (for admins too, as in
 * contact show). Every citizen's or relative's certificate shown is a read
 * of that citizen's data and audited as such.
 */
#include "certnotice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "rowval.h"
#include "buf.h"
#include "cert.h"
#include "cmd.h"
#include "distribute.h"
#include "event.h"
#include "kipd.h"
#include "log.h"
#include "mime.h"
#include "mqtt.h"
#include "outbox.h"
#include "smime.h"
#include "store.h"
#include "txn.h"

#define DAYS_MAX 36500

/* --- SQL -------------------------------------------------------------- */

/* Whether the latest consent event of SCOPE for citizen X is "given". */
#define CONSENT(x, scope)                                                  \
	"coalesce((SELECT s.action FROM consents s WHERE s.citizen_id = " x \
	" AND s.scope = '" scope "' ORDER BY s.id DESC LIMIT 1), '')"        \
	" = 'given'"
/* Involving relatives rests on the consent to the plan itself. */
#define RELATIVES_CONSENT(x)                                               \
	"(" CONSENT(x, "relatives") " AND " CONSENT(x, "plan") ")"
/* access_citizen() in SQL: ?6 admin, ?7 the caller's contact, ?8 user. */
#define SEES(x)                                                            \
	"(?6 OR EXISTS (SELECT 1 FROM plans p JOIN plan_members m"          \
	" ON m.plan_id = p.id WHERE p.citizen_id = " x                      \
	" AND m.contact_id = ?7) OR EXISTS (SELECT 1 FROM citizens v"       \
	" WHERE v.id = " x " AND v.created_by = ?8))"

/* Every certificate the caller may see: the organisation's (?1..?4, left
 * out when ?4 is NULL), contacts', citizens'; with ?5 only those whose
 * not_after is at or before it. */
#define CERTS                                                              \
	"SELECT kind, id, citizen_id, name, email, fingerprint, not_after"   \
	" FROM (SELECT 'organisation' AS kind, 0 AS id, NULL AS citizen_id," \
	" ?1 AS name, ?2 AS email, ?3 AS fingerprint, ?4 AS not_after"       \
	" WHERE ?4 IS NOT NULL"                                              \
	" UNION ALL SELECT k.kind, k.id, k.citizen_id, k.name, k.cert_email," \
	" k.cert_fingerprint, k.cert_not_after FROM contacts k"              \
	" WHERE k.cert_pem IS NOT NULL AND (k.kind = 'professional' OR"      \
	" (" SEES("k.citizen_id") " AND (k.kind <> 'relative' OR "           \
	RELATIVES_CONSENT("k.citizen_id") ")))"                              \
	" UNION ALL SELECT 'citizen', c.id, c.id, c.name, c.cert_email,"     \
	" c.cert_fingerprint, c.cert_not_after FROM citizens c"              \
	" WHERE c.cert_pem IS NOT NULL AND " SEES("c.id") ")"                \
	" WHERE ?5 IS NULL OR not_after <= ?5"

static const char list_sql[] =
	CERTS " ORDER BY CASE kind WHEN 'organisation' THEN 0"
	" WHEN 'professional' THEN 1 WHEN 'citizen' THEN 2 ELSE 3 END, id";
static const char expiring_sql[] = CERTS " ORDER BY not_after, kind, id";

/* For the notice, without regard to a caller: every certificate whose
 * not_after is at or before ?1 (relatives' only with consent: they get no
 * mail without it). */
#define EXPIRING                                                           \
	"WITH x (kind, id, citizen_id, not_after) AS ("                      \
	"SELECT k.kind, k.id, k.citizen_id, k.cert_not_after FROM contacts k" \
	" WHERE k.cert_pem IS NOT NULL AND k.cert_not_after <= ?1"           \
	" AND (k.kind <> 'relative' OR "                                     \
	RELATIVES_CONSENT("k.citizen_id") ")"                                \
	" UNION ALL SELECT 'citizen', c.id, c.id, c.cert_not_after"          \
	" FROM citizens c"                                                   \
	" WHERE c.cert_pem IS NOT NULL AND c.cert_not_after <= ?1) "

static const char notice_all_sql[] =
	EXPIRING "SELECT kind, id, citizen_id, not_after FROM x"
	" ORDER BY not_after, kind, id";
/* Per coordinator of an active plan: the certificates of its citizen and
 * members among them. */
static const char notice_coord_sql[] =
	EXPIRING "SELECT DISTINCT p.coordinator_id AS coordinator, k.email,"
	" x.kind, x.id, x.not_after FROM x JOIN plans p"
	" ON p.status = 'active' AND ((x.kind = 'citizen'"
	" AND p.citizen_id = x.id) OR (x.kind <> 'citizen' AND EXISTS"
	" (SELECT 1 FROM plan_members m WHERE m.plan_id = p.id"
	" AND m.contact_id = x.id)))"
	" JOIN contacts k ON k.id = p.coordinator_id"
	" WHERE k.email IS NOT NULL"
	" ORDER BY coordinator, x.not_after, x.kind, x.id";

/* --- helpers ---------------------------------------------------------- */

/* NOW + DAYS as "YYYY-MM-DDTHH:MM:SSZ", comparable with cert_not_after. */
static void iso_after(time_t now, int64_t days, char out[32])
{
	time_t t = now + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Whole days from NOW to NOT_AFTER, negative once expired; null if the
 * stored time cannot be read. */
static json_t *days_left(const char *not_after, time_t now)
{
	struct tm tm;
	const char *end;
	time_t diff;

	memset(&tm, 0, sizeof(tm));
	end = not_after ? strptime(not_after, "%Y-%m-%dT%H:%M:%SZ", &tm)
			: NULL;
	if (!end || *end)
		return json_null();
	diff = timegm(&tm) - now;
	return json_integer(diff >= 0 ? diff / 86400
				      : -((-diff + 86399) / 86400));
}

/*
 * The organisation's signing certificate (smime.cert, read again: kipd
 * keeps only the key and address from it): address, fingerprint and
 * not_after in cert_info's format. -ENOENT when no signer is configured,
 * -EIO when the file cannot be read (logged).
 */
static int org_cert(const struct kipd *k, struct cert_info *ret)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct cert_info info;
	struct tm tm;
	size_t o = 0;
	BIO *bio;
	X509 *x;
	int r = -EIO;

	if (!k->signer || !k->cfg->smime_cert)
		return -ENOENT;
	bio = BIO_new_file(k->cfg->smime_cert, "r");
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	memset(&info, 0, sizeof(info));
	memset(&tm, 0, sizeof(tm));
	if (x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 &&
	    X509_digest(x, EVP_sha256(), md, &n)) {
		strftime(info.not_after, sizeof(info.not_after),
			 "%Y-%m-%dT%H:%M:%SZ", &tm);
		for (unsigned int i = 0;
		     i < n && o + 3 < sizeof(info.fingerprint); i++)
			o += (size_t)snprintf(info.fingerprint + o,
					      sizeof(info.fingerprint) - o,
					      i ? ":%02X" : "%02X", md[i]);
		snprintf(info.email, sizeof(info.email), "%s",
			 smime_signer_email(k->signer));
		*ret = info;
		r = 0;
	} else {
		log_warn("cert: cannot read the organisation's certificate %s",
			 k->cfg->smime_cert);
	}
	X509_free(x);
	return r;
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

	r = store_row(c->st, &row,
		      "SELECT kind, citizen_id, email FROM contacts WHERE id = ?",
		      "i", id);
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

HANDLER(cmd_cert_import)
{
	int64_t contact = 0, citizen = 0, id;
	const char *pem, *email, *what;
	struct cert_info ci;
	json_t *row;
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
	else if (cert_check(pem, email, time(NULL), &ci, err, sizeof(err)) < 0)
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
				 " cert_not_after = ?, updated_at = ?"
				 " WHERE id = ?"
			       : "UPDATE citizens SET cert_pem = ?,"
				 " cert_fingerprint = ?, cert_email = ?,"
				 " cert_not_after = ?, updated_at = ?"
				 " WHERE id = ?",
		       "sssssi", pem, ci.fingerprint, ci.email, ci.not_after,
		       now, id);
	if (r < 0)
		return cmd_store_fail(c, r, what);
	return cmd_ok(c, json_pack("{s:s, s:I, s:s, s:s, s:s}", "kind", what,
				   "id", (json_int_t)id, "fingerprint",
				   ci.fingerprint, "email", ci.email,
				   "not_after", ci.not_after));
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
	bool has_org = org_cert(k, &org) == 0;
	time_t now = time(NULL);
	json_t *rows, *row;
	size_t i;
	int r;

	r = store_rows(c->st, &rows, sql, "sssssiis",
		       has_org ? k->cfg->org_name : NULL,
		       has_org ? org.email : NULL,
		       has_org ? org.fingerprint : NULL,
		       has_org ? org.not_after : NULL, until,
		       (int64_t)(c->who->role == ROLE_ADMIN),
		       c->who->contact_id, c->who->user);
	if (r < 0)
		return cmd_store_fail(c, r, "certificates");
	json_array_foreach(rows, i, row) {
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

HANDLER(cmd_cert_list)
{
	json_t *rows;

	if (list_certs(c, "cert.list", list_sql, NULL, &rows) < 0)
		return -1;
	return cmd_ok(c, json_pack("{s:o}", "certificates", rows));
}

HANDLER(cmd_cert_expiring)
{
	char until[32];
	json_t *rows;
	int64_t days;

	if (arg_int(c, "days", true, &days) < 0)
		return -1;
	if (days > DAYS_MAX)
		return cmd_fail(c, "bad_request", "days must be 0..%d",
				DAYS_MAX);
	iso_after(time(NULL), days, until);
	if (list_certs(c, "cert.expiring", expiring_sql, until, &rows) < 0)
		return -1;
	return cmd_ok(c, json_pack("{s:I, s:o}", "days", (json_int_t)days,
				   "certificates", rows));
}

/* --- the weekly notice ------------------------------------------------ */

/* One line of a notice: "contact 12: certificate expires 2027-01-03". */
static int notice_line(struct kipd *k, struct buf *b, const char *kind,
		       int64_t id, const char *not_after, const char *now)
{
	bool da = texts_danish(k->cfg), expired = strcmp(not_after, now) < 0;
	char who[48];

	if (strcmp(kind, "organisation") == 0)
		snprintf(who, sizeof(who), "%s",
			 da ? "organisationen" : "organisation");
	else
		snprintf(who, sizeof(who), "%s %lld",
			 strcmp(kind, "citizen") == 0 ? (da ? "borger"
							    : "citizen")
						      : (da ? "kontakt"
							    : "contact"),
			 (long long)id);
	return buf_printf(b, "%s: %s %.10s\r\n", who,
			  expired ? (da ? "certifikatet udløb"
					: "certificate expired")
				  : (da ? "certifikatet udløber"
					: "certificate expires"),
			  not_after);
}

/* Signs the notice around LINES and queues it for TO (CONTACT: the
 * coordinator's contact id, 0 for notice_address). */
static int queue_notice(struct kipd *k, int64_t contact, const char *to,
			const struct buf *lines)
{
	struct outbox_msg m = { "notice", 0, 0, 0, 0, contact, to,
				"queued", NULL, NULL };
	struct buf text = BUF_INIT;
	int days = k->cfg->cert_notice_days;
	bool da = texts_danish(k->cfg);
	int r;

	r = buf_printf(&text,
		       da ? "Disse S/MIME-certifikater udløber inden for %d "
			    "dage eller er udløbet:\r\n\r\n"
			  : "These S/MIME certificates expire within %d days "
			    "or have expired:\r\n\r\n",
		       days);
	if (r == 0)
		r = buf_append(&text, lines->data, lines->len);
	if (r == 0)
		r = buf_printf(&text,
			       da ? "\r\nSe: kipctl cert expiring --days %d\r\n"
				    "Nye certifikater indlæses med kipctl cert "
				    "import.\r\n\r\nBeskeden er sendt "
				    "automatisk og indeholder ingen "
				    "personoplysninger.\r\n"
				  : "\r\nSee: kipctl cert expiring --days %d\r\n"
				    "Import new ones with kipctl cert import."
				    "\r\n\r\nThis message was sent "
				    "automatically and contains no personal "
				    "data.\r\n",
			       days);
	/* Signed, without personal data, like every neutral notice. */
	if (r == 0)
		r = distribute_neutral(k, &m,
				       da ? "Certifikater udløber snart"
					  : "Certificates expire soon",
				       text.data);
	buf_free(&text);
	return r;
}

/* "certificate.expiring" for one certificate: who holds it (ids only)
 * and the day it expires. */
static int expiring_event(struct kipd *k, const char *holder,
			  int64_t contact, int64_t citizen,
			  const char *not_after)
{
	char day[11];
	json_t *data;

	snprintf(day, sizeof(day), "%.10s", not_after);
	data = json_pack("{s:s, s:s}", "holder", holder, "not_after", day);
	if (data && contact)
		json_object_set_new(data, "contact", json_integer(contact));
	return event_emit(k, "certificate.expiring", citizen, 0, data);
}

/* The events for the organisation's certificate (ORG, may be NULL) and
 * each of ROWS. */
static int emit_events(struct kipd *k, const struct cert_info *org,
		       json_t *rows)
{
	json_t *row;
	size_t i;
	int r = 0;

	if (org)
		r = expiring_event(k, "organisation", 0, 0, org->not_after);
	json_array_foreach(rows, i, row) {
		bool citizen = strcmp(row_str(row, "kind"), "citizen") == 0;

		if (r < 0)
			break;
		r = expiring_event(k, citizen ? "citizen" : "contact",
				   citizen ? 0 : row_num(row, "id"),
				   row_num(row, "citizen_id"),
				   row_str(row, "not_after"));
	}
	return r;
}

/* The notice to certificates.notice_address: everything expiring. */
static int notify_admin(struct kipd *k, const struct cert_info *org,
			json_t *rows, const char *now, int *queued)
{
	struct buf lines = BUF_INIT;
	json_t *row;
	size_t i;
	int r = 0;

	if (!k->cfg->cert_notice_address || (!org && !json_array_size(rows)))
		return 0;
	if (org)
		r = notice_line(k, &lines, "organisation", 0, org->not_after,
				now);
	json_array_foreach(rows, i, row) {
		if (r < 0)
			break;
		r = notice_line(k, &lines, row_str(row, "kind"),
				row_num(row, "id"), row_str(row, "not_after"),
				now);
	}
	if (r == 0)
		r = queue_notice(k, 0, k->cfg->cert_notice_address, &lines);
	if (r == 0)
		(*queued)++;
	buf_free(&lines);
	return r;
}

/* One notice per coordinator: ROWS are ordered by coordinator. */
static int notify_coordinators(struct kipd *k, json_t *rows, const char *now,
			       int *queued)
{
	struct buf lines = BUF_INIT;
	size_t n = json_array_size(rows);
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		json_t *row = json_array_get(rows, i);
		json_t *next = json_array_get(rows, i + 1); /* NULL at end */
		int64_t coord = row_num(row, "coordinator");

		r = notice_line(k, &lines, row_str(row, "kind"),
				row_num(row, "id"), row_str(row, "not_after"),
				now);
		if (r == 0 &&
		    (!next || row_num(next, "coordinator") != coord)) {
			r = queue_notice(k, coord, row_str(row, "email"),
					 &lines);
			if (r == 0)
				(*queued)++;
			lines.len = 0;
		}
	}
	buf_free(&lines);
	return r;
}

void cert_weekly_notice(struct kipd *k)
{
	char week[16], now_iso[32], until[32];
	time_t now = time(NULL);
	struct cert_info org;
	struct txn t;
	json_t *all = NULL, *coord = NULL;
	bool has_org, can_send = k->signer && k->cfg->org_mailbox;
	struct tm tm;
	int64_t one;
	int r, queued = 0;

	localtime_r(&now, &tm);
	strftime(week, sizeof(week), "%G-W%V", &tm);
	iso_after(now, 0, now_iso);
	iso_after(now, k->cfg->cert_notice_days, until);
	r = txn_begin(k, &t);
	if (r < 0) {
		log_err("cert notice: no transaction: %s", strerror(-r));
		return;
	}
	r = store_int(k->store, &one,
		      "SELECT 1 FROM cert_notices WHERE week = ?", "s", week);
	if (r == 0) { /* done this week */
		txn_rollback(&t);
		return;
	}
	if (r != -ENOENT)
		goto fail;
	has_org = org_cert(k, &org) == 0 && strcmp(org.not_after, until) <= 0;
	r = store_rows(k->store, &all, notice_all_sql, "s", until);
	if (r >= 0)
		r = store_rows(k->store, &coord, notice_coord_sql, "s", until);
	if (r >= 0)
		r = emit_events(k, has_org ? &org : NULL, all);
	if (r >= 0 && can_send)
		r = notify_admin(k, has_org ? &org : NULL, all, now_iso,
				 &queued);
	if (r >= 0 && can_send)
		r = notify_coordinators(k, coord, now_iso, &queued);
	if (r >= 0)
		r = store_exec(k->store,
			       "INSERT INTO cert_notices (week, sent_at)"
			       " VALUES (?, ?)",
			       "si", week, (int64_t)now);
	if (r >= 0)
		r = txn_commit(&t);
	if (r < 0)
		goto fail;
	if (!can_send && (has_org || json_array_size(all)))
		log_warn("cert notice: %zu certificates expire soon; no notice "
			 "sent without smime.cert and organisation.mailbox",
			 json_array_size(all) + has_org);
	log_info("cert notice: week %s: %zu certificates, %d messages", week,
		 json_array_size(all) + has_org, queued);
	json_decref(all);
	json_decref(coord);
	return;
fail:
	txn_rollback(&t);
	log_err("cert notice: week %s not done, tried again later: %s", week,
		strerror(-r));
	json_decref(all);
	json_decref(coord);
}
