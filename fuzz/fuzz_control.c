/* fuzz_control.c — the control-socket request path: framing and dispatch.
 *
 * Set up once (LLVMFuzzerInitialize): a configuration from config_load of
 * a minimal file, a real store in a private directory (tmpfs when there
 * is one), an event loop for the scheduler's timer, and a few requests
 * that give the store a citizen, contacts, consent, a plan and a version,
 * so that ids 1 and 2 name real rows. A copy of that store is kept in
 * memory; an input whose requests changed anything is followed by copying
 * it back, so every input starts from the same state and a crash
 * reproduces from its input alone.
 *
 * An input is one byte of mode, then data:
 *   mode & 3        the caller: 0 admin (root), 1 coordinator (daemon),
 *                   2 professional (bin), 3 a user not in the list
 *   mode & 0x80     set: the data is a byte stream as kipctl writes it
 *                   (4-byte big-endian length, then JSON, repeated); it is
 *                   read with proto_read_frame() from a socket pair and
 *                   each frame is dispatched, as many as fit (at most 8)
 *   otherwise       the data is one frame's JSON, written with
 *                   proto_write_frame() and read back before dispatch.
 * Every reply must be a JSON object with a boolean "ok".
 */
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd.h"
#include "config.h"
#include "fuzz.h"
#include "kipd.h"
#include "loop.h"
#include "proto.h"
#include "store.h"

#define MAX_REQUEST 65536
#define MAX_FRAMES 8

static struct kipd kipd;
static sqlite3 *pristine;

static const struct caller callers[4] = {
	{ .uid = 0, .pid = 1, .user = "root" },
	{ .uid = 1, .pid = 1, .user = "daemon" },
	{ .uid = 2, .pid = 1, .user = "bin" },
	{ .uid = 65534, .pid = 1, .user = "nobody" },
};

/* The state every input starts from. The people are fictional; the CPR
 * number has a birth date in 2056. */
static const char *const setup[] = {
	"{\"kip\":1,\"cmd\":\"contact.add\",\"args\":{\"kind\":\"professional\","
	"\"name\":\"Peter Psykiatri\",\"email\":\"peter.psykiatri@region.example\"}}",
	"{\"kip\":1,\"cmd\":\"contact.add\",\"args\":{\"kind\":\"professional\","
	"\"name\":\"Karen Koordinator\","
	"\"email\":\"karen.koordinator@kommune.example\"}}",
	"{\"kip\":1,\"cmd\":\"citizen.add\",\"args\":{\"name\":\"Bjarne Testesen\","
	"\"cpr\":\"290256-5417\",\"address\":\"Testvej 1\",\"phone\":\"1\"}}",
	"{\"kip\":1,\"cmd\":\"consent.give\",\"args\":{\"citizen\":1,"
	"\"scope\":\"plan\",\"date\":\"2026-11-01\",\"document\":\"J.nr. 1\"}}",
	"{\"kip\":1,\"cmd\":\"plan.create\",\"args\":{\"citizen\":1,"
	"\"coordinator\":2,\"basis\":[\"psych-patient\"]}}",
	"{\"kip\":1,\"cmd\":\"plan.member.add\",\"args\":{\"plan\":1,"
	"\"contact\":1}}",
	"{\"kip\":1,\"cmd\":\"meeting.schedule\",\"args\":{\"plan\":1,"
	"\"start\":\"2030-12-02 10:00\",\"place\":\"Rådhuset\"}}",
	"{\"kip\":1,\"cmd\":\"plan.version.add\",\"args\":{\"plan\":1,"
	"\"document\":\"goals:\\n  - goal: Fast bolig\\n    actions:\\n"
	"      - action: Boligansøgning\\n        responsibility: Karen\\n"
	"challenges:\\n  - Bolig\\nfollow_up: 2031-03-01\\n\"}}",
};

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_control: %s: %s\n", what, why);
	exit(2);
}

/* Checks that a reply is an object with a boolean "ok"; traps if not. */
static void check_reply(const char *reply)
{
	json_t *o;

	if (!reply)
		return; /* out of memory: allowed */
	o = json_loads(reply, 0, NULL);
	if (!json_is_object(o) || !json_is_boolean(json_object_get(o, "ok")))
		__builtin_trap();
	json_decref(o);
	free((void *)reply);
}

static void dispatch(const struct caller *who, const char *req, size_t len)
{
	check_reply(cmd_dispatch(&kipd, who, req, len));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = fuzz_tmpdir();
	char path[256], conf[1024], err[512];
	sqlite3_backup *b;
	int n;

	(void)argc, (void)argv;
	fuzz_quiet_log();
	n = snprintf(conf, sizeof(conf),
		     "store = { path = \"%s/kip.db\"; };\n"
		     "control = { socket = \"%s/kipd.sock\"; "
		     "max_request_bytes = %d; };\n"
		     "log = { level = \"error\"; syslog = false; };\n"
		     "organisation = { name = \"Testkommune\"; "
		     "mailbox = \"kip@kommune.example\"; };\n"
		     "users = (\n"
		     " { user = \"root\"; role = \"admin\"; },\n"
		     " { user = \"daemon\"; role = \"coordinator\"; "
		     "contact = \"karen.koordinator@kommune.example\"; },\n"
		     " { user = \"bin\"; role = \"professional\"; "
		     "contact = \"peter.psykiatri@region.example\"; }\n);\n",
		     dir, dir, MAX_REQUEST);
	snprintf(path, sizeof(path), "%s/kipd.conf", dir);
	if (fuzz_write_file(path, conf, (size_t)n) < 0)
		die(path, strerror(errno));
	if (config_load(path, &kipd.cfg, err, sizeof(err)) < 0)
		die("config", err);
	kipd.loop = loop_new();
	if (!kipd.loop)
		die("loop", "out of memory");
	if (store_open(kipd.cfg->store_path, &kipd.store, err, sizeof(err)) < 0)
		die("store", err);
	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
		char *reply = cmd_dispatch(&kipd, &callers[0],
					   setup[i], strlen(setup[i]));

		if (!reply || !strstr(reply, "\"ok\":true"))
			die(setup[i], reply ? reply : "no reply");
		free(reply);
	}
	if (sqlite3_open(":memory:", &pristine) != SQLITE_OK)
		die("sqlite3_open", "failed");
	b = sqlite3_backup_init(pristine, "main", store_db(kipd.store), "main");
	if (!b || sqlite3_backup_step(b, -1) != SQLITE_DONE)
		die("snapshot", sqlite3_errmsg(pristine));
	sqlite3_backup_finish(b);
	return 0;
}

static void restore(void)
{
	sqlite3 *db = store_db(kipd.store);
	sqlite3_backup *b = sqlite3_backup_init(db, "main", pristine, "main");

	if (!b || sqlite3_backup_step(b, -1) != SQLITE_DONE)
		die("restore", sqlite3_errmsg(db));
	sqlite3_backup_finish(b);
}

/* Frames read from a stream of LEN bytes, as control.c gets them. */
static void run_stream(const struct caller *who, const uint8_t *data,
		       size_t len)
{
	int sv[2];

	if (len > 60000)
		return; /* more than a socket pair buffers without a reader */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", strerror(errno));
	if (len && write(sv[0], data, len) != (ssize_t)len)
		die("write", strerror(errno));
	shutdown(sv[0], SHUT_WR);
	for (int i = 0; i < MAX_FRAMES; i++) {
		char *req = NULL;
		size_t n = 0;
		int r = proto_read_frame(sv[1], MAX_REQUEST, &req, &n);

		if (r < 0) {
			if (r != -EMSGSIZE && r != -ECONNRESET)
				__builtin_trap(); /* no other outcome exists */
			break;
		}
		if (req[n] != '\0')
			__builtin_trap();
		dispatch(who, req, n);
		free(req);
	}
	close(sv[0]);
	close(sv[1]);
}

/* One frame: written with proto_write_frame and read back. */
static void run_frame(const struct caller *who, const uint8_t *data,
		      size_t len)
{
	char *req = NULL;
	size_t n = 0;
	int sv[2], w, r;

	if (len > 60000)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair", strerror(errno));
	w = proto_write_frame(sv[0], (const char *)data, len);
	r = w < 0 ? w : proto_read_frame(sv[1], MAX_REQUEST, &req, &n);
	if ((len == 0) != (w == -EMSGSIZE))
		__builtin_trap(); /* empty frames, and only they, are refused */
	if (r == 0) {
		if (n != len || memcmp(req, data, len) != 0)
			__builtin_trap(); /* the frame did not come back whole */
		dispatch(who, req, n);
		free(req);
	}
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sqlite3 *db = store_db(kipd.store);
	sqlite3_int64 before = sqlite3_total_changes64(db);
	const struct caller *who;

	if (size < 1)
		return 0;
	who = &callers[data[0] & 3];
	if (data[0] & 0x80)
		run_stream(who, data + 1, size - 1);
	else
		run_frame(who, data + 1, size - 1);
	if (sqlite3_total_changes64(db) != before)
		restore();
	return 0;
}
