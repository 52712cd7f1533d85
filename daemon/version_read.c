/* version_read.c — see version_read.h. */
#include "version_read.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "buf.h"
#include "cmd.h"
#include "kipd.h"
#include "pdfproc.h"
#include "plandoc.h"
#include "render.h"
#include "rowval.h"

static void person(json_t *o, struct render_person *p)
{
	p->name = row_str(o, "name");
	p->title = row_str(o, "title");
	p->organisation = row_str(o, "organisation");
	p->email = row_str(o, "email");
	p->phone = row_str(o, "phone");
}

/* Participants: those recorded present at the meeting, or, before
 * attendance is recorded, every member of the plan. */
static int participants(struct cmd_ctx *c, int64_t plan, int64_t meeting,
			json_t **ret)
{
	int r = store_rows(c->st, ret,
			   "SELECT k.name, k.title, k.organisation, k.email,"
			   " k.phone FROM meeting_attendance a JOIN contacts k"
			   " ON k.id = a.contact_id WHERE a.meeting_id = ?"
			   " AND a.status = 'present' ORDER BY k.id",
			   "i", meeting);

	if (r != 0)
		return r;
	json_decref(*ret);
	return store_rows(c->st, ret,
			  "SELECT k.name, k.title, k.organisation, k.email,"
			  " k.phone FROM plan_members m JOIN contacts k"
			  " ON k.id = m.contact_id WHERE m.plan_id = ?"
			  " ORDER BY k.id",
			  "i", plan);
}

struct render_data {
	json_t *version, *master, *coord, *people;
	struct render_person *parts;
	struct plandoc *doc;
};

static void render_data_free(struct render_data *d)
{
	json_decref(d->version);
	json_decref(d->master);
	json_decref(d->coord);
	json_decref(d->people);
	free(d->parts);
	plandoc_free(d->doc);
}

static int load(struct cmd_ctx *c, int64_t plan, int64_t version,
		struct render_data *d, struct render_master *m)
{
	int64_t meeting, n;
	char err[512];
	const char *text;
	int r;

	r = store_row(
	    c->st, &d->version,
	    "SELECT v.version, v.meeting_id, v.coordinator_id,"
	    " v.approved_at, v.document, substr(m.starts_at, 1, 10)"
	    " AS meeting_date FROM plan_versions v JOIN meetings m"
	    " ON m.id = v.meeting_id WHERE v.plan_id = ? AND"
	    " v.version = CASE WHEN ? THEN ? ELSE (SELECT"
	    "  max(version) FROM plan_versions WHERE plan_id = ?) END",
	    "iiii", plan, version, version, plan);
	if (r < 0)
		return cmd_store_fail(c, r, "version");
	version = json_integer_value(json_object_get(d->version, "version"));
	meeting = json_integer_value(json_object_get(d->version, "meeting_id"));
	snprintf(c->object, sizeof(c->object), "version:%lld",
		 (long long)version);
	r = store_row(c->st, &d->master,
		      "SELECT c.name, c.cpr, c.address, c.phone, p.basis"
		      " FROM plans p JOIN citizens c ON c.id = p.citizen_id"
		      " WHERE p.id = ?",
		      "i", plan);
	if (r == 0)
		r = store_row(c->st, &d->coord,
			      "SELECT name, title, organisation, email, phone"
			      " FROM contacts WHERE id = ?",
			      "i",
			      json_integer_value(json_object_get(
				  d->version, "coordinator_id")));
	if (r == 0)
		r = participants(c, plan, meeting, &d->people);
	if (r < 0)
		return cmd_store_fail(c, r, "plan");
	n = (int64_t)json_array_size(d->people);
	d->parts = calloc((size_t)n + 1, sizeof(*d->parts));
	if (!d->parts)
		return cmd_store_fail(c, -ENOMEM, "plan");
	for (int64_t i = 0; i < n; i++)
		person(json_array_get(d->people, (size_t)i), &d->parts[i]);
	text = row_str(d->version, "document");
	if (plandoc_parse(text, strlen(text), &d->doc, err, sizeof(err)) < 0)
		return cmd_fail(c, "internal",
				"stored document no longer parses: %s", err);
	*m = (struct render_master){
	    .plan_id = plan,
	    .version = (int)version,
	    .name = row_str(d->master, "name"),
	    .cpr = row_str(d->master, "cpr"),
	    .address = row_str(d->master, "address"),
	    .phone = row_str(d->master, "phone"),
	    .basis = (unsigned)json_integer_value(
		json_object_get(d->master, "basis")),
	    .consent = consent_active(c, c->citizen_id, "plan"),
	    .participants = d->parts,
	    .n_participants = (size_t)n,
	    .meeting_date = row_str(d->version, "meeting_date"),
	    .approved =
		json_is_string(json_object_get(d->version, "approved_at")),
	};
	person(d->coord, &m->coordinator);
	return 0;
}

int render_version_all(struct cmd_ctx *c, int64_t plan, int64_t version,
		       const char *lang, struct buf *text, struct buf *html,
		       struct buf *pdf, char *pdf_err, size_t pdf_errlen,
		       char **doc)
{
	struct render_data d = {0};
	struct render_master m;
	char err[300];
	int r = load(c, plan, version, &d, &m);

	if (r == 0) {
		if (text)
			r = render_plan(&m, d.doc, RENDER_TEXT, lang, text);
		if (r == 0 && html)
			r = render_plan(&m, d.doc, RENDER_HTML, lang, html);
		if (r == 0 && pdf &&
		    (r = pdfproc_render(&m, row_str(d.version, "document"),
					lang, c->k->cfg->pdf_font_dir, pdf, err,
					sizeof(err))) < 0 &&
		    r != -ENOMEM) {
			if (!pdf_err) {
				render_data_free(&d);
				return cmd_fail(c, "internal", "PDF: %s", err);
			}
			snprintf(pdf_err, pdf_errlen, "%s", err);
			r = 0; /* the caller goes on without it */
		}
		if (r == 0 && doc &&
		    !(*doc = strdup(row_str(d.version, "document"))))
			r = -ENOMEM;
		if (r < 0)
			r = cmd_store_fail(c, r, "render");
	}
	render_data_free(&d);
	return r;
}

int render_version_both(struct cmd_ctx *c, int64_t plan, int64_t version,
			const char *lang, struct buf *text, struct buf *html,
			char **doc)
{
	return render_version_all(c, plan, version, lang, text, html, NULL,
				  NULL, 0, doc);
}

int render_version(struct cmd_ctx *c, int64_t plan, int64_t version,
		   enum render_format fmt, const char *lang, struct buf *out)
{
	return render_version_both(c, plan, version, lang,
				   fmt == RENDER_TEXT ? out : NULL,
				   fmt == RENDER_HTML ? out : NULL, NULL);
}

int render_version_pdf(struct cmd_ctx *c, int64_t plan, int64_t version,
		       const char *lang, json_t **b64)
{
	struct buf pdf = BUF_INIT;
	char *enc = NULL;
	int r = render_version_all(c, plan, version, lang, NULL, NULL, &pdf,
				   NULL, 0, NULL);

	if (r == 0 && (pdf.len > (size_t)INT32_MAX ||
		       !(enc = malloc(4 * ((pdf.len + 2) / 3) + 1))))
		r = cmd_store_fail(c, -ENOMEM, "render");
	if (r == 0) {
		EVP_EncodeBlock((unsigned char *)enc,
				(const unsigned char *)pdf.data, (int)pdf.len);
		if (!(*b64 = json_string(enc)))
			r = cmd_store_fail(c, -ENOMEM, "render");
	}
	free(enc);
	buf_free(&pdf);
	return r;
}
