/* imaptool — a command-line driver over imap.h for the tests.
 *
 *   imaptool --url URL --user USER --password-file FILE [--ca FILE]
 *            [--cert FILE --key FILE] [--timeout S] [--max BYTES]
 *            [--keyword KW] [--keep-going] COMMAND...
 *
 * One session (imap_open) runs the commands in order:
 *   search            prints "uidvalidity N" and "uids U1 U2 ..." lines
 *   fetch UID FILE    writes the raw message to FILE ("-": stdout)
 *   mark UID          imap_mark_done
 * and closes it. "open ok" is printed after the login. A failure prints
 * "imaptool: COMMAND: ENAME (-N): reason" on stderr and ends the run
 * with status 1 (2 for bad usage); with --keep-going the remaining
 * commands still run in the same session, and the status is 1. The password is
 * read from a file, so that it never stands on a command line.
 */
#include "buf.h"
#include "imap.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *errname(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return "ECONNREFUSED";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EPROTO:
		return "EPROTO";
	case EACCES:
		return "EACCES";
	case EFBIG:
		return "EFBIG";
	case ENOENT:
		return "ENOENT";
	case EINVAL:
		return "EINVAL";
	case ENOTSUP:
		return "ENOTSUP";
	case ENOMEM:
		return "ENOMEM";
	case EIO:
		return "EIO";
	default:
		return "E?";
	}
}

static int usage(void)
{
	fprintf(stderr,
		"usage: imaptool --url URL --user USER --password-file FILE "
		"[--ca FILE] [--cert FILE --key FILE] [--timeout S] "
		"[--max BYTES] [--keyword KW] [--keep-going] "
		"(search | fetch UID FILE | mark UID)...\n");
	return 2;
}

static int failed(const char *what, int r, const char *err)
{
	fprintf(stderr, "imaptool: %s: %s (%d): %s\n", what, errname(-r), r,
		err);
	return 1;
}

/* The password file's content without a trailing line end. */
static char *read_password(const char *path)
{
	char pw[1024];
	FILE *f = fopen(path, "r");
	size_t n;
	char *ret;

	if (!f)
		return NULL;
	n = fread(pw, 1, sizeof(pw) - 1, f);
	fclose(f);
	pw[n] = '\0';
	pw[strcspn(pw, "\r\n")] = '\0';
	ret = strdup(pw);
	explicit_bzero(pw, sizeof(pw));
	return ret;
}

static int parse_uid(const char *s, uint32_t *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT32_MAX)
		return -1;
	*ret = (uint32_t)v;
	return 0;
}

static int do_search(struct imap *s)
{
	uint32_t *uids = NULL, validity = 0;
	size_t n = 0;
	char err[256] = "";
	int r = imap_search_new(s, &uids, &n, &validity, err, sizeof(err));

	if (r < 0)
		return failed("search", r, err);
	printf("uidvalidity %u\nuids", validity);
	for (size_t i = 0; i < n; i++)
		printf(" %u", uids[i]);
	printf("\n");
	free(uids);
	return 0;
}

static int do_fetch(struct imap *s, uint32_t uid, const char *path)
{
	struct buf b = BUF_INIT;
	char err[256] = "";
	FILE *f;
	int r = imap_fetch(s, uid, &b, err, sizeof(err));

	if (r < 0) {
		buf_free(&b);
		return failed("fetch", r, err);
	}
	f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	if (!f || fwrite(b.data ? b.data : "", 1, b.len, f) != b.len ||
	    (f != stdout && fclose(f) != 0)) {
		buf_free(&b);
		return failed("fetch", -EIO, "cannot write the file");
	}
	fflush(stdout);
	fprintf(stderr, "fetched %u: %zu bytes\n", uid, b.len);
	buf_free(&b);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"url", required_argument, NULL, 'u'},
	    {"user", required_argument, NULL, 'U'},
	    {"password-file", required_argument, NULL, 'p'},
	    {"ca", required_argument, NULL, 'c'},
	    {"cert", required_argument, NULL, 'C'},
	    {"key", required_argument, NULL, 'K'},
	    {"timeout", required_argument, NULL, 't'},
	    {"max", required_argument, NULL, 'm'},
	    {"keyword", required_argument, NULL, 'k'},
	    {"keep-going", no_argument, NULL, 'g'},
	    {NULL, 0, NULL, 0},
	};
	struct imap_conf conf = {.timeout_s = 10,
				 .max_message = 10u << 20,
				 .done_keyword = "$KipDone"};
	const char *pwfile = NULL;
	char *password = NULL, err[256] = "";
	struct imap *s = NULL;
	int o, r, rc = 0, any = 0, keep_going = 0;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u':
			conf.url = optarg;
			break;
		case 'U':
			conf.username = optarg;
			break;
		case 'p':
			pwfile = optarg;
			break;
		case 'c':
			conf.ca_file = optarg;
			break;
		case 'C':
			conf.client_cert = optarg;
			break;
		case 'K':
			conf.client_key = optarg;
			break;
		case 't':
			conf.timeout_s = strtol(optarg, NULL, 10);
			break;
		case 'm':
			conf.max_message = strtoull(optarg, NULL, 10);
			break;
		case 'k':
			conf.done_keyword = optarg;
			break;
		case 'g':
			keep_going = 1;
			break;
		default:
			return usage();
		}
	}
	if (!conf.url || !conf.username || !pwfile || optind >= argc)
		return usage();
	password = read_password(pwfile);
	if (!password) {
		fprintf(stderr, "imaptool: cannot read the password file\n");
		return 2;
	}
	conf.password = password;
	r = imap_open(&conf, &s, err, sizeof(err));
	explicit_bzero(password, strlen(password));
	free(password);
	if (r < 0)
		return failed("open", r, err);
	printf("open ok\n");
	fflush(stdout);

	for (int i = optind; i < argc && rc == 0; i++) {
		uint32_t uid;

		if (strcmp(argv[i], "search") == 0) {
			rc = do_search(s);
		} else if (strcmp(argv[i], "fetch") == 0 && i + 2 < argc &&
			   parse_uid(argv[i + 1], &uid) == 0) {
			rc = do_fetch(s, uid, argv[i + 2]);
			i += 2;
		} else if (strcmp(argv[i], "mark") == 0 && i + 1 < argc &&
			   parse_uid(argv[i + 1], &uid) == 0) {
			r = imap_mark_done(s, uid, err, sizeof(err));
			rc = r < 0 ? failed("mark", r, err) : 0;
			if (r == 0)
				printf("marked %u\n", uid);
			i += 1;
		} else {
			rc = usage();
		}
		fflush(stdout);
		if (rc == 2)
			break;
		if (rc && keep_going)
			any = rc, rc = 0;
	}
	imap_close(s);
	return rc ? rc : any;
}
