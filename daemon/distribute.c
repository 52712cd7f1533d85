/* distribute.c — see distribute.h. */
#include "distribute.h"
#include "directory.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rowval.h"
#include "buf.h"
#include "access.h"
#include "cipher.h"
#include "clock.h"
#include "cmd.h"
#include "version_read.h"
#include "event.h"
#include "ical.h"
#include "kipd.h"
#include "log.h"
#include "mime.h"
#include "orgcert.h"
#include "outbox.h"
#include "pdfpass.h"
#include "render.h"
#include "smime.h"
#include "store.h"
#include "wording.h"

struct ids {
	int64_t citizen, plan, version, meeting;
	int64_t deviation; /* the deviation a forward carries, or 0 */
};

struct recipient {
	int64_t contact_id; /* 0: the citizen */
	const char *kind;   /* professional, relative, supporter, citizen */
	const char *name;
	const char *email;
	const char *cert_pem;
	const char *policy; /* auto, gcm, cbc */
	int caps_gcm;
	bool private; /* a private mailbox (wording.h) */
	bool pdf;     /* delivery 'pdf': without a certificate, the PDF */
};

/* Why R cannot get personal data securely, or NULL if it can. */
static const char *secure_block(struct kipd *k, const struct recipient *r,
				char *reason, size_t len)
{
	if (!r->email)
		return "no e-mail address";
	if (!k->signer)
		return "kipd has no signing certificate (smime.cert)";
	if (!r->cert_pem)
		return "no certificate";
	if (!k->trust)
		return "kipd has no CA bundle to check certificates "
		       "(smime.ca_bundle)";
	if (smime_check_recipient(k->trust, r->cert_pem, r->email, clock_now(),
				  reason, len) < 0)
		return reason;
	return NULL;
}

/*
 * Where mail to RC is encrypted, in one place for every kind of message
 * (plans, invitation details, deviations, notices to coordinators, the
 * digest): RC's own certificate when it is usable (BLOCK NULL, *PEM set);
 * else, for a professional with a work mailbox, the organisation
 * certificate registered for RC's domain, when it is usable (orgcert.h):
 * then *PEM is its certificate and *ORG its row ("domain"; the caller
 * decrefs). Returns BLOCK, or NULL when an organisation certificate
 * stands in for the missing or unusable personal one.
 */
static const char *recipient_cert(struct kipd *k, const struct recipient *rc,
				  const char *block, const char **pem,
				  json_t **org)
{
	char why[160];

	*pem = rc->cert_pem;
	*org = NULL;
	if (!block)
		return NULL;
	if (!rc->email || !k->signer || !orgcert_applies(rc->kind, rc->private))
		return block;
	if (orgcert_for(k, rc->email, clock_now(), org, why, sizeof(why)) < 0)
		return block;
	*pem = row_str(*org, "cert_pem");
	return NULL;
}

/* The From a recipient sees: the sender's name by kind of mailbox. */
static void sender(const struct kipd *k, bool private, char *out, size_t len)
{
	wording_from(wording_sender(k->cfg, private), k->cfg->org_mailbox, out,
		     len);
}

/* Inserts a row and attaches the complete message built around BODY, from
 * the sender a private or a professional mailbox sees. */
static int queue_message(struct kipd *k, struct outbox_msg *m, bool private,
			 const char *subject, const char *content_type,
			 const char *body, size_t len)
{
	struct buf msg = BUF_INIT;
	char msgid[128], from[400];
	int64_t id;
	int r = outbox_insert(k, m, &id, msgid);

	sender(k, private, from, sizeof(from));
	if (r == 0)
		r = mime_message_receipt(
		    from, m->recipient,
		    outbox_receipt_to(k, m->plan_id, m->contact_id), subject,
		    msgid, clock_now(), content_type, body, len, &msg);
	if (r == 0)
		r = outbox_set_body(k, id, msg.data, msg.len);
	buf_free(&msg);
	return r;
}

/* Signs a text/plain entity (no personal data in it) into out. */
static int sign_text(struct kipd *k, const char *text, struct buf *out)
{
	struct buf ent = BUF_INIT;
	char err[256];
	int r = mime_text_entity(text, &ent);

	if (r == 0)
		r = smime_sign(k->signer, ent.data, ent.len, out, err,
			       sizeof(err));
	buf_free(&ent);
	return r;
}

/* Signs a text/plain message without personal data and queues it. */
static int queue_signed_text(struct kipd *k, struct outbox_msg *m, bool private,
			     const char *subject, const char *text)
{
	struct buf sig = BUF_INIT;
	int r = sign_text(k, text, &sig);

	if (r == 0)
		r = queue_message(k, m, private, subject, NULL, sig.data,
				  sig.len);
	buf_free(&sig);
	return r;
}

int distribute_neutral(struct kipd *k, struct outbox_msg *m, bool private,
		       const char *subject, const char *text)
{
	if (!k->signer || !k->cfg->org_mailbox)
		return -ENOKEY;
	return queue_signed_text(k, m, private, subject, text);
}

static int queue_manual(struct kipd *k, const struct ids *ids,
			const struct recipient *rc, const char *kind,
			const char *state, const char *reason)
{
	struct outbox_msg m = {kind,	     ids->citizen,  ids->plan,
			       ids->version, ids->meeting,  rc->contact_id,
			       rc->email,    state,	    reason,
			       NULL,	     ids->deviation};
	int64_t id;
	int r = outbox_insert(k, &m, &id, NULL);

	if (r == 0 && strcmp(state, "manual") == 0)
		r = event_emit(k, "message.manual", ids->citizen, ids->plan,
			       json_pack("{s:I, s:s}", "message",
					 (json_int_t)id, "kind", kind));
	return r;
}

/* What one distribution says in clear, for professionals [0] and private
 * mailboxes [1]: the outer subject, and the neutral notice for recipients
 * without a usable certificate, signed once per kind of mailbox and only
 * when a recipient needs it (most distributions have none, and a
 * signature costs as much as several encryptions). */
struct clear {
	char subject[2][200];
	char notice[2][900]; /* "" for none */
	/* beside a plan as an encrypted PDF (a plan's only, else "") */
	char pdf_notice[2][900];
	struct buf sig[2];
};

/* Fills C with texts SUBJECT and NOTICE (W_COUNT: none) for A. */
static void clear_init(const struct kipd *k, struct clear *c,
		       enum wording subject, enum wording notice,
		       const struct wording_args *a)
{
	for (int p = 0; p < 2; p++) {
		wording(k->cfg, subject, p, a, c->subject[p],
			sizeof(c->subject[p]));
		c->notice[p][0] = '\0';
		if (notice != W_COUNT)
			wording(k->cfg, notice, p, a, c->notice[p],
				sizeof(c->notice[p]));
		c->pdf_notice[p][0] = '\0';
		if (notice == W_PLAN_NOTICE)
			wording(k->cfg, W_PDF_NOTICE, p, a, c->pdf_notice[p],
				sizeof(c->pdf_notice[p]));
		c->sig[p] = (struct buf)BUF_INIT;
	}
}

static void clear_free(struct clear *c)
{
	buf_free(&c->sig[0]);
	buf_free(&c->sig[1]);
}

/* A signed inner entity for the recipients of one distribution, stored
 * once when the first of them needs it (sealed.h). */
struct payload {
	const struct buf *signed_entity;
	int64_t entity_id;     /* 0 until stored */
	const struct buf *pdf; /* the plan's PDF, or NULL */
	json_t *passphrases;   /* the encrypted PDFs' passphrases */
};

/* The plan as an encrypted PDF for RC, who has no usable certificate and
 * chose delivery 'pdf': signed, not encrypted, the neutral notice of CL
 * beside the PDF, which alone holds the plan; its passphrase is stored
 * and added to PL's list for the coordinator. */
static int queue_pdf(struct kipd *k, const struct ids *ids,
		     const struct recipient *rc, struct clear *cl,
		     struct payload *pl)
{
	struct buf enc = BUF_INIT, inner = BUF_INIT, sig = BUF_INIT;
	char pass[PDFPASS_MAX], fname[80], err[256];
	struct mime_attachment att;
	int r = pdfpass_generate(pass, sizeof(pass));

	if (r == 0)
		r = pdfpass_encrypt(pl->pdf, pass, &enc, err, sizeof(err));
	if (r < 0)
		log_err("distribute: no encrypted PDF for plan %lld: %s",
			(long long)ids->plan, r == -EIO ? err : strerror(-r));
	if (r == 0)
		r = pdfpass_store(k, ids->citizen, ids->plan, ids->version,
				  rc->contact_id, pass);
	snprintf(fname, sizeof(fname), "KIP-%lld-%lld.pdf",
		 (long long)ids->plan, (long long)ids->version);
	att = (struct mime_attachment){fname, "application/pdf", enc.data,
				       enc.len};
	if (r == 0)
		r = mime_inner(k->cfg->org_mailbox, cl->subject[rc->private],
			       cl->pdf_notice[rc->private], NULL, &att, 1,
			       &inner);
	if (r == 0)
		r = smime_sign(k->signer, inner.data, inner.len, &sig, err,
			       sizeof(err));
	if (r == 0) {
		struct outbox_msg m = {.kind = "plan",
				       .citizen_id = ids->citizen,
				       .plan_id = ids->plan,
				       .version = ids->version,
				       .meeting_id = ids->meeting,
				       .contact_id = rc->contact_id,
				       .recipient = rc->email,
				       .state = "queued",
				       .deviation_id = ids->deviation,
				       .pdf = true};

		r = queue_message(k, &m, rc->private, cl->subject[rc->private],
				  NULL, sig.data, sig.len);
	}
	if (r == 0 && pl->passphrases &&
	    json_array_append_new(pl->passphrases,
				  json_pack("{s:I, s:s?, s:s}", "contact",
					    (json_int_t)rc->contact_id, "name",
					    rc->name, "passphrase", pass)) < 0)
		r = -ENOMEM;
	OPENSSL_cleanse(pass, sizeof(pass));
	buf_free(&enc);
	buf_free(&inner);
	buf_free(&sig);
	return r;
}

/*
 * Queues the payload for RC, to be encrypted for RC's certificate when it
 * is sent, or, when RC has no usable certificate, a manual-delivery row
 * and (if configured and possible, and CL has one) the neutral notice.
 * What travels in clear is CL's, for RC's kind of mailbox.
 */
static int queue_secure(struct kipd *k, const struct ids *ids,
			const struct recipient *rc, const char *kind,
			struct clear *cl, struct payload *pl)
{
	char reason[160], from[400];
	const char *pem;
	json_t *org;
	const char *block = recipient_cert(
	    k, rc, secure_block(k, rc, reason, sizeof(reason)), &pem, &org);
	const char *subject = cl->subject[rc->private];
	struct buf *sig = &cl->sig[rc->private];
	enum smime_cipher ci;
	int64_t id;
	int r;

	if (block && rc->pdf && pl->pdf && pl->pdf->len && rc->email &&
	    k->signer && k->cfg->org_mailbox && strcmp(kind, "plan") == 0)
		return queue_pdf(k, ids, rc, cl, pl);
	if (block) {
		r = queue_manual(k, ids, rc, kind, "manual", block);
		if (r < 0 || !cl->notice[rc->private][0] || !k->signer ||
		    !rc->email || !k->cfg->mail_neutral_notice)
			return r;
		if (!sig->len)
			r = sign_text(k, cl->notice[rc->private], sig);
		if (r == 0) {
			struct outbox_msg m = {
			    "notice",	  ids->citizen,	 ids->plan,
			    ids->version, ids->meeting,	 rc->contact_id,
			    rc->email,	  "queued",	 NULL,
			    NULL,	  ids->deviation};
			r = queue_message(k, &m, rc->private, subject, NULL,
					  sig->data, sig->len);
		}
		return r;
	}
	/* A gateway has not told us what it reads: the policy's default. */
	ci = org ? cipher_choose(k->cfg->smime_allow_gcm, "auto", 0)
		 : cipher_choose(k->cfg->smime_allow_gcm, rc->policy,
				 rc->caps_gcm);
	r = pl->entity_id
		? 0
		: outbox_entity_add(k, ids->citizen, pl->signed_entity->data,
				    &pl->entity_id);
	if (r == 0) {
		struct outbox_msg m = {
		    kind,	    ids->citizen,
		    ids->plan,	    ids->version,
		    ids->meeting,   rc->contact_id,
		    rc->email,	    "queued",
		    NULL,	    ci == SMIME_GCM ? "gcm" : "cbc",
		    ids->deviation, row_str(org, "domain")};
		r = outbox_insert(k, &m, &id, NULL);
	}
	sender(k, rc->private, from, sizeof(from));
	if (r == 0)
		r = outbox_seal(k, id, pl->entity_id, pem, from, subject);
	json_decref(org);
	return r;
}

/* A contact's columns that to_recipient() reads (all but delivery, which
 * only a plan's distribution heeds). */
#define RECIPIENT_COLUMNS                                                      \
	"k.id AS contact_id, k.kind, k.name, k.email, k.cert_pem,"             \
	" k.cipher_policy, k.caps_gcm, k.private_mailbox"

/* The members of a plan and its citizen, as JSON rows. */
static int load_recipients(struct kipd *k, int64_t plan, json_t **ret)
{
	return store_rows(
	    k->store, ret,
	    "SELECT " RECIPIENT_COLUMNS ", k.delivery"
	    " FROM plan_members m JOIN contacts k"
	    " ON k.id = m.contact_id WHERE m.plan_id = ?"
	    " UNION ALL SELECT 0, 'citizen', c.name, c.email,"
	    " c.cert_pem, c.cipher_policy, c.caps_gcm, 1,"
	    " c.delivery FROM plans p JOIN citizens c ON c.id = p.citizen_id"
	    " WHERE p.id = ? ORDER BY 1",
	    "ii", plan, plan);
}

/* Contact ID as the recipient of a personal message: its row for
 * to_recipient(); with PLAN (not 0) only while a member of it. -ENOENT
 * when not. */
static int load_contact(struct kipd *k, int64_t id, int64_t plan, json_t **ret)
{
	return store_row(k->store, ret,
			 "SELECT " RECIPIENT_COLUMNS " FROM contacts k"
			 " WHERE k.id = ?1 AND (?2 = 0 OR EXISTS (SELECT 1"
			 " FROM plan_members m WHERE m.plan_id = ?2"
			 " AND m.contact_id = k.id))",
			 "ii", id, plan);
}

static void to_recipient(json_t *row, struct recipient *rc)
{
	*rc = (struct recipient){
	    json_integer_value(json_object_get(row, "contact_id")),
	    row_str(row, "kind"),
	    row_str(row, "name"),
	    row_str(row, "email"),
	    row_str(row, "cert_pem"),
	    row_str(row, "cipher_policy"),
	    (int)json_integer_value(json_object_get(row, "caps_gcm")),
	    wording_private(row_str(row, "kind"),
			    json_integer_value(
				json_object_get(row, "private_mailbox")) != 0),
	    row_str(row, "delivery") &&
		strcmp(row_str(row, "delivery"), "pdf") == 0,
	};
}

int distribute_route(struct kipd *k, json_t *row, char *out, size_t len)
{
	char reason[160];
	struct recipient rc;
	const char *block, *pem;
	json_t *org;

	to_recipient(row, &rc);
	block = recipient_cert(
	    k, &rc, secure_block(k, &rc, reason, sizeof(reason)), &pem, &org);
	if (!block && org)
		snprintf(out, len,
			 "encrypted to the organisation certificate of %s",
			 row_str(org, "domain"));
	else if (!block)
		snprintf(out, len, "encrypted to the personal certificate");
	else if (rc.pdf && rc.email && k->signer)
		snprintf(out, len,
			 "an encrypted PDF, its passphrase given by phone (%s)",
			 block);
	else
		snprintf(out, len, "manual delivery and a neutral notice (%s)",
			 block);
	json_decref(org);
	return 0;
}

/* The coordinator's name and phone, for notices. */
static void coordinator(struct kipd *k, int64_t plan, char *out, size_t len)
{
	json_t *row;

	if (store_row(k->store, &row,
		      "SELECT k.name, coalesce(k.phone, k.email, '') AS how"
		      " FROM plans p JOIN contacts k ON k.id = p.coordinator_id"
		      " WHERE p.id = ?",
		      "i", plan) < 0) {
		snprintf(out, len, "?");
		return;
	}
	snprintf(out, len, "%s, %s", row_str(row, "name"), row_str(row, "how"));
	json_decref(row);
}

/* The plan's attachments: its PDF (every mail program opens it; a name
 * without personal data), and its YAML document for re-import when
 * mail.attach_document says so. Returns how many. */
static size_t plan_attachments(const struct kipd *k, const struct ids *ids,
			       const struct buf *pdf, const char *doc,
			       char names[2][80], struct mime_attachment *att)
{
	size_t n = 0;

	snprintf(names[0], 80, "indsatsplan-KIP-%lld-v%lld.pdf",
		 (long long)ids->plan, (long long)ids->version);
	if (pdf->len)
		att[n++] = (struct mime_attachment){names[0], "application/pdf",
						    pdf->data, pdf->len};
	if (k->cfg->mail_attach_document) {
		snprintf(names[1], 80, "indsatsplan-KIP-%lld-v%lld.yaml",
			 (long long)ids->plan, (long long)ids->version);
		att[n++] = (struct mime_attachment){
		    names[1], "application/yaml; charset=utf-8", doc,
		    strlen(doc)};
	}
	return n;
}

/* The signed plan entity, and the plan's PDF in PDF for the members who
 * get it encrypted. */
static int plan_entity(struct cmd_ctx *c, const struct ids *ids,
		       const char *citizen_name, struct buf *signed_entity,
		       struct buf *pdf)
{
	struct kipd *k = c->k;
	const char *lang = k->cfg->default_lang;
	struct buf text = BUF_INIT, html = BUF_INIT, inner = BUF_INIT;
	struct mime_attachment att[2];
	char subject[300], names[2][80], err[256], pdf_err[300];
	char *doc = NULL;
	size_t n;
	int r;

	pdf_err[0] = '\0';
	r = render_version_all(c, ids->plan, ids->version, lang, &text, &html,
			       pdf, pdf_err, sizeof(pdf_err), &doc);
	if (r < 0)
		goto out;
	/* Without its PDF the plan still goes, as text and HTML. */
	if (pdf_err[0])
		log_err("distribute: plan %lld version %lld goes without its "
			"PDF: %s",
			(long long)ids->plan, (long long)ids->version, pdf_err);
	snprintf(subject, sizeof(subject),
		 texts_danish(k->cfg)
		     ? "Koordinerende indsatsplan for %s, version %lld"
		     : "Coordinated action plan for %s, version %lld",
		 citizen_name, (long long)ids->version);
	n = plan_attachments(k, ids, pdf, doc, names, att);
	r = mime_inner(k->cfg->org_mailbox, subject, text.data, html.data, att,
		       n, &inner);
	if (r == 0)
		r = smime_sign(k->signer, inner.data, inner.len, signed_entity,
			       err, sizeof(err));
	if (r < 0)
		r = cmd_fail(c, "internal", "cannot build the message: %s",
			     strerror(-r));
out:
	free(doc);
	buf_free(&text);
	buf_free(&html);
	buf_free(&inner);
	return r;
}

static int queue_personal(struct kipd *k, const struct ids *ids,
			  const struct recipient *rc, const char *kind,
			  struct clear *cl, const char *subject,
			  const char *text);

/* The coordinator's encrypted notice of the passphrases in PASS. */
static int passphrase_notice(struct cmd_ctx *c, const struct ids *ids,
			     json_t *pass)
{
	struct kipd *k = c->k;
	bool da = texts_danish(k->cfg);
	struct buf text = BUF_INIT;
	char subject[200];
	struct recipient rc;
	struct clear cl;
	json_t *row = NULL, *p;
	size_t i;
	int64_t coord;
	int r = store_int(k->store, &coord,
			  "SELECT coordinator_id FROM plans WHERE id = ?", "i",
			  ids->plan);

	if (r >= 0)
		r = load_contact(k, coord, 0, &row);
	if (r < 0)
		return r;
	to_recipient(row, &rc);
	buf_printf(&text,
		   da ? "Plan KIP-%lld, version %lld, er sendt som en "
			"krypteret PDF til modtagere uden certifikat.\r\n"
			"Giv hver modtager sin adgangskode pr. telefon, og "
			"registrér udleveringen (kipctl plan handed).\r\n\r\n"
		      : "Plan KIP-%lld, version %lld, went as an encrypted PDF "
			"to recipients without a certificate.\r\nGive each "
			"recipient their passphrase by phone, and record the "
			"hand-over (kipctl plan handed).\r\n\r\n",
		   (long long)ids->plan, (long long)ids->version);
	json_array_foreach(pass, i, p)
	{
		r = buf_printf(&text, "%s: %s\r\n",
			       row_str(p, "name") ? row_str(p, "name") : "?",
			       row_str(p, "passphrase"));
		if (r < 0)
			break;
	}
	snprintf(subject, sizeof(subject),
		 da ? "Adgangskoder til PDF – ref KIP-%lld"
		    : "Passphrases of the PDF – ref KIP-%lld",
		 (long long)ids->plan);
	clear_init(k, &cl, W_DIGEST_SUBJECT, W_COUNT,
		   &(struct wording_args){.plan = ids->plan});
	for (int q = 0; q < 2; q++)
		snprintf(cl.subject[q], sizeof(cl.subject[q]), "%s", subject);
	if (r >= 0)
		r = queue_personal(k, ids, &rc, "notice", &cl, subject,
				   text.data);
	OPENSSL_cleanse(text.data, text.len);
	buf_free(&text);
	clear_free(&cl);
	json_decref(row);
	return r;
}

int distribute_version(struct cmd_ctx *c, int64_t plan, int64_t version,
		       int64_t only, json_t **passphrases)
{
	struct kipd *k = c->k;
	struct ids ids = {c->citizen_id, plan, version, 0};
	struct buf signed_entity = BUF_INIT, pdf = BUF_INIT;
	struct payload pl = {&signed_entity, 0, &pdf, json_array()};
	struct clear cl;
	json_t *rows = NULL, *row, *cit = NULL;
	char coord[300];
	bool relatives = consent_active(c, c->citizen_id, "relatives");
	size_t i;
	int r, n = 0;

	if (!pl.passphrases)
		return cmd_store_fail(c, -ENOMEM, "outbox");
	r = store_row(k->store, &cit, "SELECT name FROM citizens WHERE id = ?",
		      "i", c->citizen_id);
	if (r < 0) {
		json_decref(pl.passphrases);
		return cmd_store_fail(c, r, "citizen");
	}
	if (k->signer && plan_entity(c, &ids, row_str(cit, "name"),
				     &signed_entity, &pdf) < 0) {
		json_decref(cit);
		json_decref(pl.passphrases);
		buf_free(&pdf);
		return -1;
	}
	json_decref(cit);
	coordinator(k, plan, coord, sizeof(coord));
	clear_init(k, &cl, W_PLAN_SUBJECT, W_PLAN_NOTICE,
		   &(struct wording_args){.plan = plan, .coordinator = coord});
	/* Certificates from the directories first; one that fails delays
	 * nothing further, its members get what is known (directory.h). */
	r = directory_refresh_plan(k, c->who, plan, only);
	if (r >= 0)
		r = load_recipients(k, plan, &rows);
	if (r < 0) {
		json_decref(rows);
		buf_free(&signed_entity);
		return cmd_store_fail(c, r, "members");
	}
	json_array_foreach(rows, i, row)
	{
		struct recipient rc;

		if (r < 0)
			break;
		to_recipient(row, &rc);
		if (only &&
		    rc.contact_id != (only == DISTRIBUTE_CITIZEN ? 0 : only))
			continue;
		if (strcmp(rc.kind, "relative") == 0 && !relatives)
			r = queue_manual(k, &ids, &rc, "plan", "cancelled",
					 "no consent to involve relatives");
		else
			r = queue_secure(k, &ids, &rc, "plan", &cl, &pl);
		if (r < 0)
			break;
		n++;
	}
	if (r >= 0 && json_array_size(pl.passphrases))
		r = passphrase_notice(c, &ids, pl.passphrases);
	json_decref(rows);
	buf_free(&signed_entity);
	buf_free(&pdf);
	clear_free(&cl);
	if (r >= 0 && passphrases)
		*passphrases = json_incref(pl.passphrases);
	json_decref(pl.passphrases);
	if (r < 0)
		return cmd_store_fail(c, r, "outbox");
	return n;
}

/* The details of a meeting, for the encrypted half of an invitation. */
static void meeting_details(struct kipd *k, json_t *mt, struct buf *out)
{
	const char *reason = row_str(mt, "reason"),
		   *sit = row_str(mt, "situation");
	const char *video = row_str(mt, "video_url"),
		   *phone = row_str(mt, "phone");
	const char *place = row_str(mt, "place");
	bool da = texts_danish(k->cfg);

	buf_printf(out, da ? "Invitation til koordinationsmøde om en "
			     "koordinerende indsatsplan\r\n\r\n"
			   : "Invitation to a coordination meeting about a "
			     "coordinated action plan\r\n\r\n");
	buf_printf(
	    out, "%s %s, %s %d min.\r\n",
	    da ? "Tid:" : "Time:", row_str(mt, "starts_at"),
	    da ? "varighed" : "duration",
	    (int)json_integer_value(json_object_get(mt, "duration_min")));
	if (place)
		buf_printf(out, "%s %s\r\n", da ? "Sted:" : "Place:", place);
	buf_printf(out, "\r\n%s\r\n",
		   da ? "Formål: at borgeren får samtidig behandling og en "
			"koordineret indsats på tværs af psykiatri, "
			"misbrugsbehandling og de øvrige parter."
		      : "Purpose: simultaneous treatment and a coordinated "
			"effort across psychiatry, substance-abuse treatment "
			"and the other parties.");
	if (reason)
		buf_printf(out, "\r\n%s\r\n%s\r\n",
			   da ? "Baggrund for invitationen:"
			      : "Reason for the invitation:",
			   reason);
	if (sit)
		buf_printf(out, "\r\n%s\r\n%s\r\n",
			   da ? "Borgerens aktuelle situation:"
			      : "The citizen's current situation:",
			   sit);
	buf_printf(out, "\r\n%s\r\n",
		   da ? "Medbring viden om mål og indsatser i borgerens "
			"øvrige aktuelle planer."
		      : "Please bring what you know of the goals and actions "
			"in the citizen's other current plans.");
	if (video || phone)
		buf_printf(out, "\r\n%s%s%s%s%s\r\n",
			   da ? "Deltag virtuelt eller pr. telefon:"
			      : "Join by video or phone:",
			   video ? " " : "", video ? video : "",
			   phone ? " tlf. " : "", phone ? phone : "");
	buf_printf(out, "\r\n%s\r\n",
		   da ? "Kan du ikke deltage, så send dit input til "
			"koordinatoren inden mødet, send en stedfortræder, "
			"eller deltag virtuelt eller pr. telefon."
		      : "If you cannot come, send your input to the "
			"coordinator before the meeting, send a substitute, "
			"or join by video or phone.");
}

/* The place an invitation in clear may show: the one the meeting was
 * given for that (--place-in-clear), else, for a professional and when
 * mail.place_in_clear says so, its place; else none. */
static const char *clear_place(const struct kipd *k, json_t *mt, bool private)
{
	if (row_str(mt, "place_clear"))
		return row_str(mt, "place_clear");
	return !private && k->cfg->mail_place_in_clear ? row_str(mt, "place")
						       : NULL;
}

/* The signed iMIP invitation of meeting MT for the participant RC alone:
 * it travels in clear (readers do not take encrypted invitations as
 * meetings), so it names no one but its recipient as attendee (a reply
 * names the same address and so still matches), and a private mailbox's
 * names neither the kind of meeting nor the service (wording.h). */
static int invitation_entity(struct kipd *k, json_t *mt,
			     const struct recipient *rc, bool cancel,
			     struct buf *out)
{
	const char *att[1] = {rc->email};
	const char *domain = strchr(k->cfg->org_mailbox, '@') + 1;
	char uid[128], summary[200], err[256];
	struct buf ent = BUF_INIT;
	struct ical_event ev;
	size_t n = 1;
	int r;

	snprintf(uid, sizeof(uid), "kip-meeting-%lld@%s",
		 (long long)json_integer_value(json_object_get(mt, "id")),
		 domain);
	wording(k->cfg, W_MEETING_SUMMARY, rc->private,
		&(struct wording_args){
		    .plan = json_integer_value(json_object_get(mt, "plan_id"))},
		summary, sizeof(summary));
	ev = (struct ical_event){
	    .method = cancel ? ICAL_CANCEL : ICAL_REQUEST,
	    .uid = uid,
	    .sequence =
		(int)json_integer_value(json_object_get(mt, "sequence")),
	    .dtstamp = clock_now(),
	    .start_local = row_str(mt, "starts_at"),
	    .duration_min =
		(int)json_integer_value(json_object_get(mt, "duration_min")),
	    .summary = summary,
	    .location = clear_place(k, mt, rc->private),
	    .description = texts_danish(k->cfg)
			       ? "Detaljer følger i en krypteret "
				 "besked."
			       : "Details follow in an encrypted "
				 "message.",
	    .url = rc->private ? NULL : row_str(mt, "video_url"),
	    .organizer_name = wording_sender(k->cfg, rc->private),
	    .organizer_email = k->cfg->org_mailbox,
	    .attendees = att,
	    .n_attendees = n,
	};
	r = ical_imip_entity(&ev, summary, &ent);
	if (r == 0)
		r = smime_sign(k->signer, ent.data, ent.len, out, err,
			       sizeof(err));
	buf_free(&ent);
	return r;
}

int distribute_meeting(struct cmd_ctx *c, int64_t meeting, bool cancel)
{
	struct kipd *k = c->k;
	struct buf inv = BUF_INIT, details = BUF_INIT, inner = BUF_INIT;
	struct buf sig = BUF_INIT;
	struct payload pl = {&sig, 0};
	json_t *mt = NULL, *rows = NULL, *row;
	bool relatives = consent_active(c, c->citizen_id, "relatives");
	char err[256];
	struct clear cl;
	struct ids ids;
	size_t i;
	int r;

	clear_init(k, &cl, cancel ? W_CANCEL_SUBJECT : W_INVITATION_SUBJECT,
		   W_COUNT, &(struct wording_args){.plan = c->plan_id});
	r = store_row(k->store, &mt,
		      "SELECT id, plan_id, starts_at, duration_min, place,"
		      " place_clear, video_url, phone, sequence, reason,"
		      " situation FROM meetings WHERE id = ?",
		      "i", meeting);
	if (r < 0)
		return cmd_store_fail(c, r, "meeting");
	ids = (struct ids){c->citizen_id, c->plan_id, 0, meeting};
	r = load_recipients(k, c->plan_id, &rows);
	if (r < 0)
		goto out;
	/* The encrypted details, signed once for every participant; their
	 * protected subject is the professionals' (only the outer one is in
	 * clear). */
	if (k->signer && k->cfg->org_mailbox && !cancel) {
		meeting_details(k, mt, &details);
		r = mime_inner(k->cfg->org_mailbox, cl.subject[0], details.data,
			       NULL, NULL, 0, &inner);
		if (r == 0)
			r = smime_sign(k->signer, inner.data, inner.len, &sig,
				       err, sizeof(err));
		if (r < 0)
			goto out;
	}
	json_array_foreach(rows, i, row)
	{
		struct recipient rc;

		to_recipient(row, &rc);
		if (strcmp(rc.kind, "relative") == 0 && !relatives)
			continue;
		if (!rc.email || !k->signer || !k->cfg->org_mailbox) {
			r = queue_manual(
			    k, &ids, &rc, "invitation", "manual",
			    !rc.email	? "no e-mail address"
			    : k->signer ? "kipd has no sender address "
					  "(organisation.mailbox)"
					: "kipd has no signing certificate "
					  "(smime.cert)");
		} else {
			struct outbox_msg m = {
			    "invitation",  ids.citizen, ids.plan, 0,	meeting,
			    rc.contact_id, rc.email,	"queued", NULL, NULL};

			buf_free(&inv);
			r = invitation_entity(k, mt, &rc, cancel, &inv);
			if (r == 0)
				r = queue_message(k, &m, rc.private,
						  cl.subject[rc.private], NULL,
						  inv.data, inv.len);
			if (r == 0 && !cancel)
				r = queue_secure(k, &ids, &rc,
						 "invitation-details", &cl,
						 &pl);
		}
		if (r < 0)
			break;
	}
out:
	json_decref(mt);
	json_decref(rows);
	buf_free(&inv);
	buf_free(&details);
	buf_free(&inner);
	buf_free(&sig);
	clear_free(&cl);
	if (r < 0)
		return c->err_code ? -1 : cmd_store_fail(c, r, "invitation");
	return 0;
}

/* The words of a failure for the coordinator, ids only: the subject in
 * clear, and a text that sends them to plan status. */
static void failure_words(const struct kipd *k, int64_t row, int64_t plan,
			  char *subject, size_t sublen, char *text,
			  size_t textlen)
{
	snprintf(text, textlen,
		 texts_danish(k->cfg)
		     ? "En besked (nr. %lld) i plan KIP-%lld kunne ikke "
		       "leveres.\r\nSe: kipctl plan status %lld\r\n"
		     : "A message (no. %lld) of plan KIP-%lld could not "
		       "be delivered.\r\nSee: kipctl plan status %lld\r\n",
		 (long long)row, (long long)plan, (long long)plan);
	snprintf(subject, sublen,
		 texts_danish(k->cfg) ? "Levering fejlede – ref KIP-%lld"
				      : "Delivery failed – ref KIP-%lld",
		 (long long)plan);
}

void distribute_failure_notice(struct kipd *k, int64_t row)
{
	json_t *o = NULL;
	char text[600], subject[120];
	struct outbox_msg m;
	int64_t plan;

	if (!k->signer ||
	    store_row(k->store, &o,
		      "SELECT o.kind, o.plan_id, o.citizen_id, k.email,"
		      " k.id AS coordinator FROM outbox o JOIN plans p"
		      " ON p.id = o.plan_id JOIN contacts k"
		      " ON k.id = p.coordinator_id WHERE o.id = ?",
		      "i", row) < 0)
		return;
	plan = json_integer_value(json_object_get(o, "plan_id"));
	if (strcmp(row_str(o, "kind"), "failure") == 0 ||
	    !row_str(o, "email")) {
		json_decref(o);
		return;
	}
	/* Ids only: the coordinator looks up the rest in kipctl. */
	failure_words(k, row, plan, subject, sizeof(subject), text,
		      sizeof(text));
	m = (struct outbox_msg){
	    "failure",
	    json_integer_value(json_object_get(o, "citizen_id")),
	    plan,
	    0,
	    0,
	    json_integer_value(json_object_get(o, "coordinator")),
	    row_str(o, "email"),
	    "queued",
	    NULL,
	    NULL,
	};
	if (queue_signed_text(k, &m, false, subject, text) < 0)
		log_err("outbox: failure notice for message %lld not queued",
			(long long)row);
	json_decref(o);
}

/* Signs TEXT (personal) as an entity with the protected SUBJECT and
 * queues it for RC as KIND: encrypted, or without a usable certificate
 * the manual row and CL's notice (queue_secure()). */
static int queue_personal(struct kipd *k, const struct ids *ids,
			  const struct recipient *rc, const char *kind,
			  struct clear *cl, const char *subject,
			  const char *text)
{
	struct buf inner = BUF_INIT, signed_entity = BUF_INIT;
	struct payload pl = {&signed_entity, 0};
	char err[256];
	int r = 0;

	if (k->signer) {
		r = mime_inner(k->cfg->org_mailbox, subject, text, NULL, NULL,
			       0, &inner);
		if (r == 0)
			r = smime_sign(k->signer, inner.data, inner.len,
				       &signed_entity, err, sizeof(err));
	}
	if (r == 0)
		r = queue_secure(k, ids, rc, kind, cl, &pl);
	buf_free(&inner);
	buf_free(&signed_entity);
	return r;
}

/* What kind of message K is, in the coordinator's words. */
static const char *kind_words(const struct kipd *k, const char *kind)
{
	static const char *const words[][3] = {
	    {"plan", "indsatsplan", "action plan"},
	    {"notice", "besked om en ny version", "notice of a new version"},
	    {"invitation", "mødeindkaldelse", "meeting invitation"},
	    {"invitation-details", "mødets detaljer", "meeting details"},
	    {"reminder", "påmindelse", "reminder"},
	    {"followup", "påmindelse om opfølgning", "follow-up reminder"},
	    {"deviation", "afvigelse", "deviation"},
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (strcmp(kind, words[i][0]) == 0)
			return words[i][texts_danish(k->cfg) ? 1 : 2];
	return kind;
}

/* The personal text of a bounce (O: the row, with the member's name),
 * and for a copy of the plan the command that sends it again. */
static int bounce_text(struct kipd *k, int64_t row, json_t *o, struct buf *out)
{
	bool da = texts_danish(k->cfg);
	int64_t plan = row_num(o, "plan_id"), version = row_num(o, "version");
	const char *status = row_str(o, "delivery_status");
	const char *detail = row_str(o, "delivery_detail");
	char ver[48] = "";

	int r;

	if (version)
		snprintf(ver, sizeof(ver), ", version %lld",
			 (long long)version);
	r = buf_printf(
	    out,
	    da ? "En besked kunne ikke leveres, efter at mailserveren havde "
		 "taget imod den: modtagerens system sendte den retur."
		 "\r\n\r\nPlan: KIP-%lld%s\r\nBesked: nr. %lld (%s)\r\n"
		 "Til: %s <%s>\r\nÅrsag: %s%s%s\r\n\r\nKontakt modtageren ad "
		 "anden vej, eller ret adressen og send igen.\r\nSe: kipctl "
		 "plan status %lld\r\n"
	       : "A message could not be delivered after the mail server had "
		 "taken it: the recipient's system returned it.\r\n\r\n"
		 "Plan: KIP-%lld%s\r\nMessage: no. %lld (%s)\r\nTo: %s <%s>"
		 "\r\nReason: %s%s%s\r\n\r\nReach the recipient another way, "
		 "or correct the address and send again.\r\nSee: kipctl plan "
		 "status %lld\r\n",
	    (long long)plan, ver, (long long)row,
	    kind_words(k, row_str(o, "kind")),
	    row_str(o, "name") ? row_str(o, "name") : "?",
	    row_str(o, "recipient") ? row_str(o, "recipient") : "?",
	    status ? status : "?", detail ? " – " : "", detail ? detail : "",
	    (long long)plan);
	if (r == 0 && strcmp(row_str(o, "kind"), "plan") == 0) {
		/* a copy sent again replaces this one (outbox.h) */
		char who[32] = "--citizen";

		if (row_num(o, "contact_id"))
			snprintf(who, sizeof(who), "--contact %lld",
				 (long long)row_num(o, "contact_id"));
		r = buf_printf(out,
			       da ? "Send igen: kipctl plan distribute %lld "
				    "--version %lld %s\r\n"
				  : "Send again: kipctl plan distribute %lld "
				    "--version %lld %s\r\n",
			       (long long)plan, (long long)version, who);
	}
	return r;
}

int distribute_bounce_notice(struct kipd *k, int64_t row)
{
	json_t *o = NULL, *co = NULL;
	struct buf text = BUF_INIT;
	char subject[200], notice[600], inner[200];
	struct recipient rc;
	struct clear cl;
	struct ids ids;
	int64_t coord;
	int r;

	r = store_row(k->store, &o,
		      "SELECT o.kind, o.plan_id, o.citizen_id, o.version,"
		      " o.contact_id, o.recipient, o.delivery_status,"
		      " o.delivery_detail, p.coordinator_id,"
		      " coalesce(k.name, c.name) AS name FROM outbox o"
		      " JOIN plans p ON p.id = o.plan_id"
		      " LEFT JOIN contacts k ON k.id = o.contact_id"
		      " LEFT JOIN citizens c ON c.id = o.citizen_id"
		      " AND o.contact_id IS NULL WHERE o.id = ?",
		      "i", row);
	if (r == -ENOENT) /* a message of no plan: no coordinator */
		return 0;
	if (r < 0)
		return r;
	coord = row_num(o, "coordinator_id");
	/* Not of a failure notice, nor of a message to the coordinator:
	 * the notice would go where the bounce came from. */
	if (strcmp(row_str(o, "kind"), "failure") == 0 ||
	    row_num(o, "contact_id") == coord) {
		json_decref(o);
		return 0;
	}
	r = load_contact(k, coord, 0, &co);
	if (r == 0)
		r = bounce_text(k, row, o, &text);
	if (r < 0)
		goto out;
	to_recipient(co, &rc);
	failure_words(k, row, row_num(o, "plan_id"), subject, sizeof(subject),
		      notice, sizeof(notice));
	for (int p = 0; p < 2; p++) {
		snprintf(cl.subject[p], sizeof(cl.subject[p]), "%s", subject);
		snprintf(cl.notice[p], sizeof(cl.notice[p]), "%s", notice);
		cl.sig[p] = (struct buf)BUF_INIT;
	}
	snprintf(inner, sizeof(inner),
		 texts_danish(k->cfg)
		     ? "Besked kunne ikke leveres – ref KIP-%lld"
		     : "Message could not be delivered – ref KIP-%lld",
		 (long long)row_num(o, "plan_id"));
	ids = (struct ids){row_num(o, "citizen_id"), row_num(o, "plan_id"), 0,
			   0, 0};
	r = queue_personal(k, &ids, &rc, "failure", &cl, inner, text.data);
	clear_free(&cl);
out:
	json_decref(o);
	json_decref(co);
	buf_free(&text);
	return r < 0 ? r : 0;
}

int distribute_digest(struct kipd *k, int64_t coordinator, const char *day,
		      const char *text)
{
	struct ids ids = {0, 0, 0, 0, 0};
	struct clear cl;
	json_t *row = NULL;
	struct recipient rc;
	int r;

	if (!k->signer || !k->cfg->org_mailbox)
		return 0;
	r = load_contact(k, coordinator, 0, &row);
	if (r < 0)
		return r;
	to_recipient(row, &rc);
	clear_init(k, &cl, W_DIGEST_SUBJECT, W_DIGEST_NOTICE,
		   &(struct wording_args){.date = day});
	r = queue_personal(k, &ids, &rc, "digest", &cl, cl.subject[0], text);
	json_decref(row);
	clear_free(&cl);
	return r < 0 ? r : 0;
}

int distribute_deviation(struct kipd *k, int64_t citizen, int64_t plan,
			 int64_t version, int64_t deviation, int64_t contact,
			 const char *subject, const char *text)
{
	struct ids ids = {citizen, plan, version, 0, deviation};
	struct clear cl;
	json_t *row = NULL;
	struct recipient rc;
	char coord[300];
	int r = 0;

	r = load_contact(k, contact, plan, &row);
	if (r < 0)
		return r;
	to_recipient(row, &rc);
	coordinator(k, plan, coord, sizeof(coord));
	clear_init(k, &cl, W_DEVIATION_SUBJECT, W_DEVIATION_NOTICE,
		   &(struct wording_args){.plan = plan, .coordinator = coord});
	r = queue_personal(k, &ids, &rc, "deviation", &cl, subject, text);
	json_decref(row);
	clear_free(&cl);
	return r < 0 ? r : 0;
}
