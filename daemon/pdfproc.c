/* pdfproc.c — see pdfproc.h.
 *
 * The job (child.h), JSON: the master data as struct render_master holds
 * it, the plan document as stored (YAML), the language and the font
 * directory. The helper's answer: one byte (0 the PDF follows, else an
 * -errno's absolute value and the error text follows), eight bytes of
 * length (little-endian), then that many bytes. An answer cut short is a
 * failure whatever the helper's exit status.
 */
#include "pdfproc.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "child.h"
#include "fdio.h"
#include "log.h"
#include "pdf.h"

/* The largest job: a plan document and its master data. */
#define PDFPROC_JOB_MAX (16u << 20)

static json_t *person_json(const struct render_person *p)
{
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?}", "name", p->name,
			 "title", p->title, "organisation", p->organisation,
			 "email", p->email, "phone", p->phone);
}

static void json_person(json_t *j, struct render_person *p)
{
	p->name = json_string_value(json_object_get(j, "name"));
	p->title = json_string_value(json_object_get(j, "title"));
	p->organisation = json_string_value(json_object_get(j, "organisation"));
	p->email = json_string_value(json_object_get(j, "email"));
	p->phone = json_string_value(json_object_get(j, "phone"));
}

/* The job for M, DOCUMENT, LANG and FONT_DIR (caller frees), or NULL. */
static char *job_encode(const struct render_master *m, const char *document,
			const char *lang, const char *font_dir)
{
	json_t *parts = json_array(), *job;
	char *text;

	for (size_t i = 0; parts && i < m->n_participants; i++)
		if (json_array_append_new(parts,
					  person_json(&m->participants[i])) < 0)
			json_decref(parts), parts = NULL;
	if (!parts)
		return NULL;
	job = json_pack(
	    "{s:I, s:i, s:s?, s:s?, s:s?, s:s?, s:I, s:b, s:o, s:o, s:s?, "
	    "s:b, s:s, s:s?, s:s?}",
	    "plan_id", (json_int_t)m->plan_id, "version", m->version, "name",
	    m->name, "cpr", m->cpr, "address", m->address, "phone", m->phone,
	    "basis", (json_int_t)m->basis, "consent", m->consent, "coordinator",
	    person_json(&m->coordinator), "participants", parts, "meeting_date",
	    m->meeting_date, "approved", m->approved, "document", document,
	    "lang", lang, "font_dir", font_dir);
	if (!job)
		return NULL;
	text = json_dumps(job, JSON_COMPACT);
	json_decref(job);
	return text;
}

static int reply(int fd, int code, const void *data, size_t len)
{
	unsigned char head[9];

	head[0] = (unsigned char)code;
	for (int i = 0; i < 8; i++)
		head[1 + i] = (unsigned char)((uint64_t)len >> (8 * i));
	return fd_write_all(fd, head, sizeof(head))
		   ?: fd_write_all(fd, data, len);
}

/* The helper's work (child_main): the job decoded, the plan rendered,
 * the answer to FD. */
static int render_job(const char *text, size_t len, int fd)
{
	json_t *job = json_loadb(text, len, 0, NULL), *parts;
	struct render_person *people = NULL;
	struct render_master m = {0};
	struct plandoc *doc = NULL;
	struct buf pdf = BUF_INIT;
	const char *document;
	char err[300] = "";
	size_t n;
	int r;

	document = json_string_value(json_object_get(job, "document"));
	parts = json_object_get(job, "participants");
	n = json_array_size(parts);
	if (!document || !(people = calloc(n + 1, sizeof(*people)))) {
		snprintf(err, sizeof(err),
			 "the PDF renderer's job is unreadable");
		r = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		json_person(json_array_get(parts, i), &people[i]);
	m = (struct render_master){
	    .plan_id =
		(long)json_integer_value(json_object_get(job, "plan_id")),
	    .version = (int)json_integer_value(json_object_get(job, "version")),
	    .name = json_string_value(json_object_get(job, "name")),
	    .cpr = json_string_value(json_object_get(job, "cpr")),
	    .address = json_string_value(json_object_get(job, "address")),
	    .phone = json_string_value(json_object_get(job, "phone")),
	    .basis =
		(unsigned)json_integer_value(json_object_get(job, "basis")),
	    .consent = json_is_true(json_object_get(job, "consent")),
	    .participants = people,
	    .n_participants = n,
	    .meeting_date =
		json_string_value(json_object_get(job, "meeting_date")),
	    .approved = json_is_true(json_object_get(job, "approved")),
	};
	json_person(json_object_get(job, "coordinator"), &m.coordinator);
	r = plandoc_parse(document, strlen(document), &doc, err, sizeof(err));
	if (r == 0)
		r = pdf_render_plan(
		    &m, doc, json_string_value(json_object_get(job, "lang")),
		    json_string_value(json_object_get(job, "font_dir")), &pdf,
		    err, sizeof(err));
out:
	r = r == 0 ? reply(fd, 0, pdf.data, pdf.len)
		   : (reply(fd, -r, err, strlen(err)), r);
	plandoc_free(doc);
	free(people);
	buf_free(&pdf);
	json_decref(job);
	return r;
}

int pdfproc_helper(const char *parent)
{
	return child_main(parent, PDFPROC_JOB_MAX, render_job);
}

/* The result of the helper's REPLY and exit STATUS into OUT or ERR. */
static int judge(const struct buf *rep, int status, struct buf *out, char *err,
		 size_t errlen)
{
	const unsigned char *p = (const unsigned char *)rep->data;
	uint64_t len = 0;

	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "the PDF renderer ended with signal %d",
			 WTERMSIG(status));
		return -EIO;
	}
	if (rep->len >= 9)
		for (int i = 0; i < 8; i++)
			len |= (uint64_t)p[1 + i] << (8 * i);
	if (rep->len < 9 || len != rep->len - 9) {
		snprintf(err, errlen,
			 "the PDF renderer ended (status %d) without a whole "
			 "answer",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -EIO;
	}
	if (p[0] != 0) {
		snprintf(err, errlen, "%.*s", (int)len, rep->data + 9);
		return p[0] == ENOENT || p[0] == ENOMEM ? -(int)p[0] : -EIO;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		log_warn(
		    "pdf: the renderer answered, then ended with status %d",
		    WEXITSTATUS(status));
	return buf_append(out, rep->data + 9, (size_t)len);
}

int pdfproc_render(const struct render_master *m, const char *document,
		   const char *lang, const char *font_dir, struct buf *out,
		   char *err, size_t errlen)
{
	struct buf rep = BUF_INIT;
	char why[200], *job = job_encode(m, document, lang, font_dir);
	int r, status;

	if (!job) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = child_run("pdf", job, strlen(job), PDFPROC_TIMEOUT_MS,
		      PDFPROC_MAX_BYTES + 9, &rep, &status, why, sizeof(why));
	/* the job names the citizen */
	explicit_bzero(job, strlen(job));
	free(job);
	if (r == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
	} else if (r < 0) {
		snprintf(err, errlen, "the PDF renderer: %s", why);
		r = -EIO;
	} else {
		r = judge(&rep, status, out, err, errlen);
	}
	buf_free(&rep);
	return r;
}
