/* certnotice.c — see certnotice.h. */
#include "certnotice.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "buf.h"
#include "cert.h"
#include "clock.h"
#include "distribute.h"
#include "event.h"
#include "kipd.h"
#include "log.h"
#include "outbox.h"
#include "rowval.h"
#include "smime.h"
#include "store.h"
#include "txn.h"

/* For the notice, without regard to a caller: every certificate whose
 * not_after is at or before ?1 (relatives' only with consent: they get no
 * mail without it), and the organisation certificates registered for mail
 * domains (kind 'domain', the domain as name: no person's data). */
#define EXPIRING                                                               \
	"WITH x (kind, id, citizen_id, not_after, name) AS ("                  \
	"SELECT k.kind, k.id, k.citizen_id, k.cert_not_after, NULL"            \
	" FROM contacts k"                                                     \
	" WHERE k.cert_pem IS NOT NULL AND k.cert_not_after <= ?1"             \
	" AND (k.kind <> 'relative' OR " RELATIVES_CONSENT_SQL(                \
	    "k.citizen_id") ")"                                                \
			    " UNION ALL SELECT 'citizen', c.id, c.id, "        \
			    "c.cert_not_after, NULL"                           \
			    " FROM citizens c"                                 \
			    " WHERE c.cert_pem IS NOT NULL AND "               \
			    "c.cert_not_after <= ?1"                           \
			    " UNION ALL SELECT 'domain', 0, NULL,"             \
			    " d.not_after, d.domain FROM domain_certs d"       \
			    " WHERE d.not_after <= ?1) "

static const char notice_all_sql[] =
    EXPIRING "SELECT kind, id, citizen_id, not_after, name FROM x"
	     " ORDER BY not_after, kind, id, name";
/* Per coordinator of an active plan: the certificates of its citizen and
 * members among them (not the domains': the administrator's). */
static const char notice_coord_sql[] =
    EXPIRING "SELECT DISTINCT p.coordinator_id AS coordinator, k.email,"
	     " x.kind, x.id, x.not_after FROM x JOIN plans p"
	     " ON p.status = 'active' AND ((x.kind = 'citizen'"
	     " AND p.citizen_id = x.id) OR (x.kind NOT IN ('citizen', 'domain')"
	     " AND EXISTS"
	     " (SELECT 1 FROM plan_members m WHERE m.plan_id = p.id"
	     " AND m.contact_id = x.id)))"
	     " JOIN contacts k ON k.id = p.coordinator_id"
	     " WHERE k.email IS NOT NULL"
	     " ORDER BY coordinator, x.not_after, x.kind, x.id";

int cert_org(const struct kipd *k, struct cert_info *ret)
{
	if (!k->signer || !k->cfg->smime_cert)
		return -ENOENT;
	if (cert_read_file(k->cfg->smime_cert, ret) < 0) {
		log_warn("cert: cannot read the organisation's certificate %s",
			 k->cfg->smime_cert);
		return -EIO;
	}
	snprintf(ret->email, sizeof(ret->email), "%s",
		 smime_signer_email(k->signer));
	return 0;
}

/* One line of a notice: "contact 12: certificate expires 2027-01-03";
 * NAME: a domain's (kind "domain"). */
static int notice_line(struct kipd *k, struct buf *b, const char *kind,
		       int64_t id, const char *name, const char *not_after,
		       const char *now)
{
	bool da = texts_danish(k->cfg), expired = strcmp(not_after, now) < 0;
	char who[320];

	if (strcmp(kind, "organisation") == 0)
		snprintf(who, sizeof(who), "%s",
			 da ? "organisationen" : "organisation");
	else if (strcmp(kind, "domain") == 0)
		snprintf(who, sizeof(who), "%s %s",
			 da ? "organisationscertifikatet for"
			    : "the organisation certificate for",
			 name ? name : "?");
	else
		snprintf(who, sizeof(who), "%s %lld",
			 strcmp(kind, "citizen") == 0
			     ? (da ? "borger" : "citizen")
			     : (da ? "kontakt" : "contact"),
			 (long long)id);
	return buf_printf(
	    b, "%s: %s %.10s\r\n", who,
	    expired ? (da ? "certifikatet udløb" : "certificate expired")
		    : (da ? "certifikatet udløber" : "certificate expires"),
	    not_after);
}

/* Signs the notice around LINES and queues it for TO (CONTACT: the
 * coordinator's contact id, 0 for notice_address). */
static int queue_notice(struct kipd *k, int64_t contact, const char *to,
			const struct buf *lines)
{
	struct outbox_msg m = {"notice", 0,  0,	       0,    0,
			       contact,	 to, "queued", NULL, NULL};
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
		r = buf_printf(
		    &text,
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
		r = distribute_neutral(k, &m, false,
				       da ? "Certifikater udløber snart"
					  : "Certificates expire soon",
				       text.data);
	buf_free(&text);
	return r;
}

/* "certificate.expiring" for one certificate: who holds it (ids only)
 * and the day it expires. */
static int expiring_event(struct kipd *k, const char *holder, int64_t contact,
			  int64_t citizen, const char *domain,
			  const char *not_after)
{
	char day[11];
	json_t *data;

	snprintf(day, sizeof(day), "%.10s", not_after);
	data = json_pack("{s:s, s:s}", "holder", holder, "not_after", day);
	if (data && contact)
		json_object_set_new(data, "contact", json_integer(contact));
	if (data && domain)
		json_object_set_new(data, "domain", json_string(domain));
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
		r = expiring_event(k, "organisation", 0, 0, NULL,
				   org->not_after);
	json_array_foreach(rows, i, row)
	{
		const char *kind = row_str(row, "kind");
		bool citizen = strcmp(kind, "citizen") == 0;
		bool domain = strcmp(kind, "domain") == 0;

		if (r < 0)
			break;
		r = expiring_event(k,
				   citizen  ? "citizen"
				   : domain ? "domain"
					    : "contact",
				   citizen || domain ? 0 : row_num(row, "id"),
				   row_num(row, "citizen_id"),
				   domain ? row_str(row, "name") : NULL,
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
		r = notice_line(k, &lines, "organisation", 0, NULL,
				org->not_after, now);
	json_array_foreach(rows, i, row)
	{
		if (r < 0)
			break;
		r = notice_line(k, &lines, row_str(row, "kind"),
				row_num(row, "id"), row_str(row, "name"),
				row_str(row, "not_after"), now);
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
				row_num(row, "id"), NULL,
				row_str(row, "not_after"), now);
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
	time_t now = clock_now();
	struct cert_info org;
	struct txn t;
	json_t *all = NULL, *coord = NULL;
	bool has_org, can_send = k->signer && k->cfg->org_mailbox;
	struct tm tm;
	int64_t one;
	int r, queued = 0;

	localtime_r(&now, &tm);
	strftime(week, sizeof(week), "%G-W%V", &tm);
	cert_iso_after(now, 0, now_iso);
	cert_iso_after(now, k->cfg->cert_notice_days, until);
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
	has_org = cert_org(k, &org) == 0 && strcmp(org.not_after, until) <= 0;
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
