/* sealed.c — see sealed.h. */
#include "sealed.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mime.h"

struct sealed_entity {
	atomic_int refs;
	size_t len;
	char *data;
};

struct sealed_entity *sealed_entity_new(char *data, size_t len)
{
	struct sealed_entity *e = malloc(sizeof(*e));

	if (!e) {
		explicit_bzero(data, len);
		free(data);
		return NULL;
	}
	atomic_init(&e->refs, 1);
	e->len = len;
	e->data = data;
	return e;
}

struct sealed_entity *sealed_entity_ref(struct sealed_entity *e)
{
	if (e)
		atomic_fetch_add(&e->refs, 1);
	return e;
}

void sealed_entity_unref(struct sealed_entity *e)
{
	if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	explicit_bzero(e->data, e->len);
	free(e->data);
	free(e);
}

int sealed_build(const struct sealed *s, struct buf *out, char *err,
		 size_t errlen)
{
	struct buf env = BUF_INIT;
	int r;

	r = smime_encrypt(s->cert_pem, s->cipher, s->entity->data,
			  s->entity->len, &env, err, errlen);
	if (r == 0) {
		r = mime_message_receipt(s->from, s->to, s->receipt_to,
					 s->subject, s->message_id, s->date,
					 smime_content_type(s->cipher),
					 env.data, env.len, out);
		if (r < 0)
			snprintf(err, errlen, "MIME: %s", strerror(-r));
	}
	buf_free(&env);
	return r;
}

void sealed_free(struct sealed *s)
{
	if (!s)
		return;
	sealed_entity_unref(s->entity);
	free(s->cert_pem);
	free(s->from);
	free(s->to);
	free(s->subject);
	free(s->message_id);
	free(s->receipt_to);
	free(s);
}
