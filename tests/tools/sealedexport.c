/* sealedexport.c — writes the queued sealed messages of a kipd database
 * to files, built exactly as kipd's SMTP workers build them
 * (sealed_build(): encrypted for the recipient, CRLF line ends).
 *
 *   sealedexport DB FROM DIR LIMIT
 *
 * Reads DB read-only: the queued plan messages (outbox_sealed), in id
 * order, at most LIMIT, to DIR/<id>.eml, with FROM as the sender (kipd's
 * organisation.mailbox). bench/mail.sh uses it for the transport limit:
 * the very messages kipd would send, given to a program that only sends.
 * Prints the count and the mean size. Exit 0, or 1 with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "buf.h"
#include "sealed.h"

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? (const char *)s : "";
}

int main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0, bytes = 0;
	char err[256], path[4096];
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: sealedexport DB FROM DIR LIMIT\n");
		return 1;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) !=
		    SQLITE_OK ||
	    sqlite3_prepare_v2(
		    db,
		    "SELECT o.id, o.recipient, o.message_id, o.cipher,"
		    " s.cert_pem, s.subject, s.date, e.body"
		    " FROM outbox o JOIN outbox_sealed s ON s.id = o.id"
		    " JOIN outbox_entity e ON e.id = s.entity_id"
		    " WHERE o.kind = 'plan' AND o.state = 'queued'"
		    " ORDER BY o.id LIMIT ?",
		    -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "sealedexport: %s: %s\n", argv[1],
			sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	sqlite3_bind_int64(st, 1, atoll(argv[4]));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *body = col(st, 7);
		struct sealed s = {
			sealed_entity_new(strdup(body), strlen(body)),
			(char *)col(st, 4), (char *)argv[2],
			(char *)col(st, 1), (char *)col(st, 5),
			(char *)col(st, 2), (time_t)sqlite3_column_int64(st, 6),
			strcmp(col(st, 3), "gcm") == 0 ? SMIME_GCM : SMIME_CBC,
		};
		struct buf out = BUF_INIT;
		FILE *f;

		if (!s.entity || sealed_build(&s, &out, err, sizeof(err)) < 0) {
			fprintf(stderr, "sealedexport: message %lld: %s\n",
				(long long)sqlite3_column_int64(st, 0),
				s.entity ? err : "out of memory");
			return 1;
		}
		sealed_entity_unref(s.entity);
		snprintf(path, sizeof(path), "%s/%lld.eml", argv[3],
			 (long long)sqlite3_column_int64(st, 0));
		f = fopen(path, "wb");
		if (!f || fwrite(out.data, 1, out.len, f) != out.len ||
		    fclose(f) != 0) {
			fprintf(stderr, "sealedexport: %s: %s\n", path,
				strerror(errno));
			return 1;
		}
		n++;
		bytes += out.len;
		buf_free(&out);
	}
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "sealedexport: %s\n", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	printf("%zu %zu\n", n, n ? bytes / n : 0);
	return 0;
}
