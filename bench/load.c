/* load.c — fills a kipd with fictional citizens and their plans, as fast
 * as one connection allows.
 *
 *   load [-n N] [-p EVERY] [-q] -d FILE [SOCKET]
 *
 * Connects once to SOCKET (else $KIP_SOCKET, else /run/kip/kipd.sock) and
 * sends, one after the other on that connection:
 *
 *   contact.add       one professional, "Bench Koordinator"
 *   and for i = 1..N (default 10000):
 *     citizen.add       "Testborger i", a CPR number that cannot be real
 *                       (born 2030-2057), "Testvej i, 9999 Testby", a phone
 *     consent.give      scope plan, 2026-01-01, document BENCH-i
 *     plan.create       basis psych-patient, coordinator: the contact above
 *     meeting.schedule  2026-06-01 10:00 at Testhuset
 *     plan.version.add  the plan document read from FILE (-d)
 *
 * Every reply must be ok; the first that is not ends the run (status 1)
 * with kipd's message. Progress goes to standard error every EVERY
 * citizens (-p, default N/10; -q: none). At the end standard output gets
 * the totals, the mean time per command and a line
 *
 *   plans: FIRST..LAST
 *
 * (the plan ids created, for a benchmark to pick from; when they are not
 * contiguous the line is "plans: FIRST..LAST (not contiguous)").
 *
 * The CPR numbers: DDMMYY-SSSS with DD 01..28, MM 01..12, YY 30..57 and a
 * first serial digit 5..8, which the CPR rules place in 2030-2057: nobody
 * alive has one. Citizen i (from 1) gets k = i - 1 spread over day, month,
 * year, then serial, so each i has its own number (up to MAX_N citizens).
 * A database that already holds them answers conflict: use a fresh one.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto.h"

#define DEFAULT_SOCKET "/run/kip/kipd.sock"
#define DEFAULT_N 10000
/* 28 days x 12 months x 28 years x 4000 serials (5000..8999). */
#define CPR_DATES (28L * 12 * 28)
#define MAX_N (CPR_DATES * 4000)
#define REPLY_MAX (16u * 1024 * 1024)
#define DOC_MAX (16L * 1024 * 1024)

enum { C_CONTACT, C_CITIZEN, C_CONSENT, C_PLAN, C_MEETING, C_VERSION, C_N };

static const char *const cmd_names[C_N] = {
    "contact.add", "citizen.add",      "consent.give",
    "plan.create", "meeting.schedule", "plan.version.add",
};

static struct {
	uint64_t count;
	uint64_t ns;
	uint64_t max_ns;
} stats[C_N];

static int sock = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)))
__attribute__((noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("load: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: load [-n N] [-p EVERY] [-q] -d FILE [SOCKET]\n"
		"  -n N      citizens (and plans) to create, default %d\n"
		"  -d FILE   the plan document stored as each plan's version\n"
		"  -p EVERY  progress every EVERY citizens (default N/10)\n"
		"  -q        no progress\n"
		"  SOCKET    kipd's socket, else $KIP_SOCKET, else %s\n",
		DEFAULT_N, DEFAULT_SOCKET);
}

static long parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1)
		die("%s: not a positive integer: %s", what, s);
	return v;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *p;
	size_t n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0)
		die("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_size > DOC_MAX)
		die("%s: not a regular file of at most %ld bytes", path,
		    DOC_MAX);
	p = malloc((size_t)st.st_size + 1);
	if (!p)
		die("out of memory");
	n = fread(p, 1, (size_t)st.st_size, f);
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	p[n] = '\0';
	if (strlen(p) != n)
		die("%s: contains a NUL byte", path);
	return p;
}

static int connect_socket(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("%s: socket path too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("cannot connect to %s: %s", path, strerror(errno));
	return fd;
}

/* Sends {"kip":1,"cmd":..,"args":args} (takes args), checks that the reply
 * is ok and returns its result's integer member key (0 if key is NULL). */
static json_int_t call(int which, json_t *args, const char *key)
{
	json_t *req, *reply, *v;
	json_error_t jerr;
	uint64_t t0, dt;
	char *text, *rtext;
	size_t rlen;
	json_int_t ret = 0;
	int r;

	if (!args)
		die("%s: out of memory building the request", cmd_names[which]);
	req = json_pack("{s:i, s:s, s:o}", "kip", KIP_PROTO_VERSION, "cmd",
			cmd_names[which], "args", args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!text)
		die("%s: out of memory building the request", cmd_names[which]);
	json_decref(req);

	t0 = now_ns();
	r = proto_write_frame(sock, text, strlen(text));
	if (r == -EPIPE) /* the reply may say why */
		r = 0;
	if (r < 0)
		die("%s: sending: %s", cmd_names[which], strerror(-r));
	r = proto_read_frame(sock, REPLY_MAX, &rtext, &rlen);
	if (r == -ECONNRESET)
		die("%s: kipd closed the connection before replying",
		    cmd_names[which]);
	if (r < 0)
		die("%s: reading the reply: %s", cmd_names[which],
		    strerror(-r));
	dt = now_ns() - t0;
	free(text);
	stats[which].count++;
	stats[which].ns += dt;
	if (dt > stats[which].max_ns)
		stats[which].max_ns = dt;

	reply = json_loadb(rtext, rlen, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(reply))
		die("%s: reply is not a JSON object: %s", cmd_names[which],
		    reply ? "" : jerr.text);
	if (json_integer_value(json_object_get(reply, "kip")) !=
	    KIP_PROTO_VERSION)
		die("%s: reply has the wrong protocol version",
		    cmd_names[which]);
	if (!json_is_true(json_object_get(reply, "ok"))) {
		json_t *e = json_object_get(reply, "error");
		const char *msg =
		    json_string_value(json_object_get(e, "message"));
		const char *code =
		    json_string_value(json_object_get(e, "code"));

		die("%s: %s [%s]", cmd_names[which], msg ? msg : "(no message)",
		    code ? code : "?");
	}
	if (key) {
		v = json_object_get(json_object_get(reply, "result"), key);
		if (!json_is_integer(v))
			die("%s: the result has no integer '%s'",
			    cmd_names[which], key);
		ret = json_integer_value(v);
	}
	json_decref(reply);
	free(rtext);
	return ret;
}

/* DDMMYY-SSSS for citizen i (from 1); see the top of the file. */
static void make_cpr(long i, char out[12])
{
	long k = i - 1;
	int day = (int)(k % 28) + 1;
	int month = (int)(k / 28 % 12) + 1;
	int year = 30 + (int)(k / (28 * 12) % 28);
	int serial = 5000 + (int)(k / CPR_DATES);

	snprintf(out, 12, "%02d%02d%02d-%04d", day, month, year, serial);
}

int main(int argc, char **argv)
{
	const char *sockpath, *docpath = NULL;
	long n = DEFAULT_N, every = 0;
	bool quiet = false;
	json_int_t coord, first_plan = 0, last_plan = 0, prev_plan = 0;
	bool contiguous = true;
	uint64_t t_start, t_end, total = 0;
	char *doc;
	int opt;

	while ((opt = getopt(argc, argv, "n:d:p:qh")) != -1) {
		switch (opt) {
		case 'n':
			n = parse_count(optarg, "-n");
			break;
		case 'd':
			docpath = optarg;
			break;
		case 'p':
			every = parse_count(optarg, "-p");
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
	if (optind + 1 < argc || !docpath) {
		usage(stderr);
		return 2;
	}
	if (n > MAX_N)
		die("-n: at most %ld citizens have a CPR number of their own",
		    MAX_N);
	if (!every)
		every = n >= 10 ? n / 10 : 1;
	sockpath = optind < argc ? argv[optind] : getenv("KIP_SOCKET");
	if (!sockpath || !*sockpath)
		sockpath = DEFAULT_SOCKET;
	doc = read_file(docpath);
	signal(SIGPIPE, SIG_IGN);
	sock = connect_socket(sockpath);
	setvbuf(stdout, NULL, _IOLBF, 0);

	t_start = now_ns();
	coord = call(C_CONTACT,
		     json_pack("{s:s, s:s, s:s}", "kind", "professional",
			       "name", "Bench Koordinator", "email",
			       "bench.koordinator@kommune.example"),
		     "id");
	for (long i = 1; i <= n; i++) {
		char name[64], cpr[12], address[96], phone[32], ref[64];
		json_int_t citizen, plan;

		snprintf(name, sizeof(name), "Testborger %ld", i);
		make_cpr(i, cpr);
		snprintf(address, sizeof(address), "Testvej %ld, 9999 Testby",
			 i);
		snprintf(phone, sizeof(phone), "+45 99%06ld", i % 1000000);
		snprintf(ref, sizeof(ref), "BENCH-%ld", i);

		citizen =
		    call(C_CITIZEN,
			 json_pack("{s:s, s:s, s:s, s:s}", "name", name, "cpr",
				   cpr, "address", address, "phone", phone),
			 "id");
		call(C_CONSENT,
		     json_pack("{s:I, s:s, s:s, s:s}", "citizen", citizen,
			       "scope", "plan", "date", "2026-01-01",
			       "document", ref),
		     NULL);
		plan = call(C_PLAN,
			    json_pack("{s:I, s:[s], s:I}", "citizen", citizen,
				      "basis", "psych-patient", "coordinator",
				      coord),
			    "id");
		call(C_MEETING,
		     json_pack("{s:I, s:s, s:s}", "plan", plan, "start",
			       "2026-06-01 10:00", "place", "Testhuset"),
		     "id");
		call(C_VERSION,
		     json_pack("{s:I, s:s}", "plan", plan, "document", doc),
		     "version");

		if (i == 1)
			first_plan = plan;
		else if (plan != prev_plan + 1)
			contiguous = false;
		prev_plan = last_plan = plan;

		if (!quiet && (i % every == 0 || i == n)) {
			double s = (double)(now_ns() - t_start) / 1e9;
			uint64_t reqs = 1 + (uint64_t)i * 5;

			fprintf(stderr,
				"load: %ld/%ld citizens, %" PRIu64
				" requests, %.1f s, %.0f requests/s\n",
				i, n, reqs, s, (double)reqs / s);
		}
	}
	t_end = now_ns();
	close(sock);
	free(doc);

	for (int c = 0; c < C_N; c++)
		total += stats[c].count;
	{
		double s = (double)(t_end - t_start) / 1e9;

		printf("citizens: %ld\n", n);
		printf("requests: %" PRIu64 "\n", total);
		printf("time: %.2f s\n", s);
		printf("requests/s: %.0f\n", (double)total / s);
		printf("citizens/s: %.1f\n", (double)n / s);
	}
	printf("%-18s %8s %10s %10s\n", "command", "count", "mean ms",
	       "max ms");
	for (int c = 0; c < C_N; c++)
		printf("%-18s %8" PRIu64 " %10.3f %10.3f\n", cmd_names[c],
		       stats[c].count,
		       stats[c].count
			   ? (double)stats[c].ns / (double)stats[c].count / 1e6
			   : 0.0,
		       (double)stats[c].max_ns / 1e6);
	printf("plans: %lld..%lld%s\n", (long long)first_plan,
	       (long long)last_plan, contiguous ? "" : " (not contiguous)");
	return 0;
}
