/* smtpblast.c — the transport limit: sends ready-made messages to an SMTP
 * server as fast as C connections allow.
 *
 *   smtpblast -u URL [-c C] [-n N] [-C CAFILE] [-U USER] [-P PASSFILE]
 *             [-f FROM] [-r RCPT] [-q] FILE...
 *
 * Reads every FILE (a complete message, CRLF line ends, as kipd's outbox
 * holds them) into memory first, then starts C threads (default 2). Each
 * thread owns one libcurl easy handle for the whole run, so its TLS
 * connection (and SMTP AUTH) is made once and reused for every message, as
 * kipd's SMTP workers do. The threads take messages 0..N-1 from a shared
 * counter; message i is FILE number i mod (number of FILEs), so one FILE
 * with -n N sends it N times. N defaults to the number of FILEs.
 *
 * TLS always: smtp:// URLs require STARTTLS, smtps:// is TLS from the
 * start; the peer is verified (TLS >= 1.2) against CAFILE (-C) if given,
 * else the system's store. -U/-P log in (PASSFILE holds the password, a
 * final line end is ignored). The envelope sender is FROM (-f, default
 * kip@kommune.example); the recipient is RCPT (-r) or else the address in
 * the message's To: header.
 *
 * Prints on standard output
 *
 *   messages: N
 *   connections: C
 *   bytes: TOTAL (mean SIZE per message)
 *   time: SECONDS s
 *   messages/s: RATE
 *
 * The time runs from the start of the threads (so it includes each
 * connection's TLS handshake and login, as kipd's first message does)
 * until the last message is accepted. A message the server does not
 * accept is reported on standard error and makes the exit status 1.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 64
#define MSG_MAX (64L * 1024 * 1024)

struct msg {
	char *data;
	size_t len;
	char rcpt[320];
};

struct cursor {
	const struct msg *m;
	size_t off;
};

static struct msg *msgs;
static size_t n_msgs;
static long total;
static atomic_long next_msg;
static atomic_long failures;
static const char *url, *cafile, *user, *from = "kip@kommune.example";
static const char *fixed_rcpt;
static char *password;
static bool quiet;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("smtpblast: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: smtpblast -u URL [-c C] [-n N] [-C CAFILE] [-U USER]"
	    " [-P PASSFILE]\n"
	    "                 [-f FROM] [-r RCPT] [-q] FILE...\n"
	    "  -u URL       smtp://host:port (STARTTLS) or smtps://host:port\n"
	    "  -c C         connections (threads), default 2\n"
	    "  -n N         messages to send, default: one per FILE (FILEs"
	    " repeat)\n"
	    "  -C CAFILE    CA certificates to verify the server with\n"
	    "  -U USER      SMTP AUTH user; -P PASSFILE its password\n"
	    "  -f FROM      envelope sender, default kip@kommune.example\n"
	    "  -r RCPT      envelope recipient, default: the To: address\n"
	    "  -q           no per-failure messages\n");
}

static long parse_count(const char *s, const char *what, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		die("%s: not an integer in 1..%ld: %s", what, max, s);
	return v;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *p;
	size_t n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0)
		die("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > MSG_MAX)
		die("%s: not a regular file of at most %ld bytes", path,
		    MSG_MAX);
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		die("out of memory");
	n = fread(p, 1, (size_t)st.st_size, f);
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

/* The address of the To: header in the header block of data: the part in
 * <...> if any, else the whole value trimmed. */
static void header_to(const char *path, const char *data, size_t len, char *out,
		      size_t outlen)
{
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t ll = eol ? (size_t)(eol - p) : (size_t)(end - p);

		if (ll == 0 || (ll == 1 && p[0] == '\r'))
			break; /* end of the header */
		if (ll > 3 && strncasecmp(p, "To:", 3) == 0) {
			const char *v = p + 3, *ve = p + ll, *lt, *gt;

			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
				ve--;
			while (v < ve && *v == ' ')
				v++;
			lt = memchr(v, '<', (size_t)(ve - v));
			gt = lt ? memchr(lt, '>', (size_t)(ve - lt)) : NULL;
			if (lt && gt) {
				v = lt + 1;
				ve = gt;
			}
			if (ve <= v || (size_t)(ve - v) >= outlen)
				break;
			memcpy(out, v, (size_t)(ve - v));
			out[ve - v] = '\0';
			return;
		}
		p = eol ? eol + 1 : end;
	}
	die("%s: no To: address in the header (give -r)", path);
}

static size_t read_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct cursor *cur = arg;
	size_t n = size * nmemb, left = cur->m->len - cur->off;

	if (n > left)
		n = left;
	memcpy(ptr, cur->m->data + cur->off, n);
	cur->off += n;
	return n;
}

/* The options kipd's SMTP workers set (daemon/smtp.c new_handle). */
static CURL *new_handle(void)
{
	CURL *c = curl_easy_init();

	if (!c)
		die("curl_easy_init failed");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, cafile);
	if (user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, password ? password : "");
	}
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	return c;
}

static void *worker(void *arg)
{
	CURL *c = new_handle();
	char ebuf[CURL_ERROR_SIZE];
	struct cursor cur;
	long i;

	(void)arg;
	curl_easy_setopt(c, CURLOPT_READDATA, &cur);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	while ((i = atomic_fetch_add(&next_msg, 1)) < total) {
		const struct msg *m = &msgs[(size_t)i % n_msgs];
		struct curl_slist *rcpt =
		    curl_slist_append(NULL, fixed_rcpt ? fixed_rcpt : m->rcpt);
		CURLcode rc;

		cur = (struct cursor){m, 0};
		ebuf[0] = '\0';
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)m->len);
		rc = curl_easy_perform(c);
		if (rc != CURLE_OK) {
			atomic_fetch_add(&failures, 1);
			if (!quiet)
				fprintf(stderr,
					"smtpblast: message %ld: %s%s%s\n", i,
					curl_easy_strerror(rc),
					ebuf[0] ? ": " : "", ebuf);
		}
		curl_easy_setopt(c, CURLOPT_MAIL_RCPT, NULL);
		curl_slist_free_all(rcpt);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *passfile = NULL;
	long conns = 2, n = 0;
	pthread_t th[MAX_CONN];
	double t0, dt, bytes = 0;
	int opt;

	while ((opt = getopt(argc, argv, "u:c:n:C:U:P:f:r:qh")) != -1) {
		switch (opt) {
		case 'u':
			url = optarg;
			break;
		case 'c':
			conns = parse_count(optarg, "-c", MAX_CONN);
			break;
		case 'n':
			n = parse_count(optarg, "-n", 100000000L);
			break;
		case 'C':
			cafile = optarg;
			break;
		case 'U':
			user = optarg;
			break;
		case 'P':
			passfile = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 'r':
			fixed_rcpt = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!url || optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strncmp(url, "smtp://", 7) != 0 && strncmp(url, "smtps://", 8) != 0)
		die("-u: not an smtp:// or smtps:// URL: %s", url);
	if (passfile) {
		size_t l;

		password = read_file(passfile, &l);
		password[strcspn(password, "\r\n")] = '\0';
	}
	n_msgs = (size_t)(argc - optind);
	msgs = calloc(n_msgs, sizeof(*msgs));
	if (!msgs)
		die("out of memory");
	for (size_t i = 0; i < n_msgs; i++) {
		msgs[i].data = read_file(argv[optind + (int)i], &msgs[i].len);
		if (!fixed_rcpt)
			header_to(argv[optind + (int)i], msgs[i].data,
				  msgs[i].len, msgs[i].rcpt,
				  sizeof(msgs[i].rcpt));
	}
	total = n ? n : (long)n_msgs;
	for (long i = 0; i < total; i++)
		bytes += (double)msgs[(size_t)i % n_msgs].len;
	if (conns > total)
		conns = total;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");

	t0 = now_s();
	for (long i = 0; i < conns; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			die("pthread_create failed");
	for (long i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	dt = now_s() - t0;

	printf("messages: %ld\n", total);
	printf("connections: %ld\n", conns);
	printf("bytes: %.0f (mean %.0f per message)\n", bytes,
	       bytes / (double)total);
	printf("failed: %ld\n", atomic_load(&failures));
	printf("time: %.3f s\n", dt);
	printf("messages/s: %.1f\n", (double)total / dt);
	curl_global_cleanup();
	for (size_t i = 0; i < n_msgs; i++)
		free(msgs[i].data);
	free(msgs);
	free(password);
	return atomic_load(&failures) ? 1 : 0;
}
