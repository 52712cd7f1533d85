/* control.c — see control.h. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "cmd.h"
#include "kipd.h"
#include "log.h"
#include "proto.h"

struct conn {
	struct control *ctl;
	int fd;
	struct caller who;
	struct buf in;	/* bytes of the request being read */
	struct buf out; /* reply bytes not yet written */
	size_t out_off;
	int64_t timer;
	int closing; /* close once out is written */
	struct conn *next;
};

struct control {
	struct kipd *k;
	int fd;
	char *path;
	struct conn *conns;
	int n_conns;
};

static void conn_close(struct conn *c)
{
	struct control *ctl = c->ctl;

	for (struct conn **p = &ctl->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	ctl->n_conns--;
	loop_del_fd(ctl->k->loop, c->fd);
	loop_timer_cancel(ctl->k->loop, c->timer);
	close(c->fd);
	/* Requests and replies may hold personal data. */
	if (c->in.data)
		explicit_bzero(c->in.data, c->in.cap);
	if (c->out.data)
		explicit_bzero(c->out.data, c->out.cap);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

static void on_timeout(struct loop *loop, void *arg)
{
	struct conn *c = arg;

	char *reply = cmd_error_reply("timeout", "no complete request in "
						 "time; connection closed");

	(void)loop;
	c->timer = 0;
	log_info("control: uid %u: no complete request within %d ms; "
		 "dropped",
		 (unsigned)c->who.uid, c->ctl->k->cfg->request_timeout_ms);
	/* Best effort: one non-blocking write of the reason, then close. */
	if (reply && c->out.len == c->out_off) {
		unsigned char hdr[KIP_FRAME_HDR];
		struct iovec iov[2] = {{hdr, sizeof(hdr)},
				       {reply, strlen(reply)}};

		proto_put_len(hdr, (uint32_t)strlen(reply));
		(void)!writev(c->fd, iov, 2);
	}
	free(reply);
	conn_close(c);
}

static void arm_timer(struct conn *c)
{
	struct loop *loop = c->ctl->k->loop;

	loop_timer_cancel(loop, c->timer);
	c->timer = loop_timer_at(
	    loop, loop_now_ms() + (uint64_t)c->ctl->k->cfg->request_timeout_ms,
	    on_timeout, c);
}

static void queue_reply(struct conn *c, char *reply)
{
	unsigned char hdr[KIP_FRAME_HDR];
	size_t len = reply ? strlen(reply) : 0;

	if (!reply) {
		c->closing = 1; /* out of memory: nothing sensible to say */
		return;
	}
	proto_put_len(hdr, (uint32_t)len);
	if (buf_append(&c->out, hdr, sizeof(hdr)) < 0 ||
	    buf_append(&c->out, reply, len) < 0)
		c->closing = 1;
	explicit_bzero(reply, len);
	free(reply);
	/* After a fatal error only the reply goes out; nothing is read. */
	loop_mod_fd(c->ctl->k->loop, c->fd,
		    c->closing ? POLLOUT : POLLIN | POLLOUT);
}

/* Handles every complete frame in c->in. Returns -1 to close now. */
static int handle_input(struct conn *c)
{
	size_t max = (size_t)c->ctl->k->cfg->max_request_bytes;

	while (!c->closing && c->in.len >= KIP_FRAME_HDR) {
		uint32_t len = proto_get_len((unsigned char *)c->in.data);
		char msg[128];

		if (len == 0 || len > max) {
			snprintf(msg, sizeof(msg),
				 "request of %u bytes; the limit is %zu",
				 (unsigned)len, max);
			log_info("control: uid %u: %s", (unsigned)c->who.uid,
				 msg);
			queue_reply(c,
				    cmd_error_reply("request_too_large", msg));
			c->closing = 1;
			return 0;
		}
		if (c->in.len < KIP_FRAME_HDR + (size_t)len)
			return 0;
		queue_reply(c, cmd_dispatch(c->ctl->k, &c->who,
					    c->in.data + KIP_FRAME_HDR, len));
		explicit_bzero(c->in.data, KIP_FRAME_HDR + (size_t)len);
		memmove(c->in.data, c->in.data + KIP_FRAME_HDR + len,
			c->in.len - KIP_FRAME_HDR - len);
		c->in.len -= KIP_FRAME_HDR + (size_t)len;
		arm_timer(c);
	}
	return 0;
}

static int do_read(struct conn *c)
{
	char tmp[16384];

	/* A bounded number of reads per wake-up, so that one busy client
	 * cannot starve the others. */
	for (int i = 0; i < 8 && !c->closing; i++) {
		ssize_t n = read(c->fd, tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		if (buf_append(&c->in, tmp, (size_t)n) < 0)
			return -1;
		handle_input(c);
		if ((size_t)n < sizeof(tmp))
			return 0;
	}
	return 0;
}

static int do_write(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = write(c->fd, c->out.data + c->out_off,
				  c->out.len - c->out_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -1;
		c->out_off += (size_t)n;
	}
	c->out.len = c->out_off = 0;
	loop_mod_fd(c->ctl->k->loop, c->fd, POLLIN);
	return c->closing ? -1 : 0;
}

static void on_conn(struct loop *loop, int fd, short revents, void *arg)
{
	struct conn *c = arg;

	(void)loop;
	(void)fd;
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && do_read(c) < 0) {
		conn_close(c);
		return;
	}
	if ((c->out.len > c->out_off || c->closing) && do_write(c) < 0)
		conn_close(c);
}

static int peer_identity(int fd, struct caller *who)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	memset(who, 0, sizeof(*who));
	who->uid = cred.uid;
	who->pid = cred.pid;
	errno = 0;
	int e = getpwuid_r(cred.uid, &pw, pwbuf, sizeof(pwbuf), &res);
	if (e == 0 && res)
		snprintf(who->user, sizeof(who->user), "%s", pw.pw_name);
	else if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF ||
		 e == EPERM)
		snprintf(who->user, sizeof(who->user), "uid:%u",
			 (unsigned)cred.uid);
	else
		return -e; /* the lookup failed: not the same as unknown */
	return 0;
}

static void on_accept(struct loop *loop, int fd, short revents, void *arg)
{
	struct control *ctl = arg;
	struct conn *c;
	int cfd;

	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (ctl->n_conns >= ctl->k->cfg->max_clients) {
		log_warn("control: %d connections open; refusing another",
			 ctl->n_conns);
		close(cfd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || peer_identity(cfd, &c->who) < 0 ||
	    loop_add_fd(loop, cfd, POLLIN, on_conn, c) < 0) {
		free(c);
		close(cfd);
		return;
	}
	c->ctl = ctl;
	c->fd = cfd;
	c->next = ctl->conns;
	ctl->conns = c;
	ctl->n_conns++;
	arm_timer(c);
}

/* Whether PATH may be replaced: absent, or a (stale) socket, nothing
 * else. */
static int replaceable(const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	return 0;
}

static int socket_owner(struct control *ctl, const char *path, char *err,
			size_t errlen)
{
	const char *group = ctl->k->cfg->socket_group;
	struct group gr, *res = NULL;
	char grbuf[4096];

	if (chmod(path, 0660) < 0) {
		snprintf(err, errlen, "%s: chmod: %s", ctl->path,
			 strerror(errno));
		return -errno;
	}
	if (!group)
		return 0;
	if (getgrnam_r(group, &gr, grbuf, sizeof(grbuf), &res) != 0 || !res) {
		snprintf(err, errlen, "control.group: no group named '%s'",
			 group);
		return -ENOENT;
	}
	/* Already kipd's own group (the usual case under systemd, where kipd
	 * may not chown): nothing to change. */
	if (gr.gr_gid == getegid())
		return 0;
	if (chown(path, (uid_t)-1, gr.gr_gid) < 0) {
		snprintf(err, errlen, "%s: chown to group %s: %s", ctl->path,
			 group, strerror(errno));
		return -errno;
	}
	return 0;
}

int control_open(struct kipd *k, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *ctl;
	mode_t old;
	int r;

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(k->cfg->socket_path))) {
		free(ctl);
		return -ENOMEM;
	}
	ctl->k = k;
	/* Bound and listening under a temporary name, then renamed into
	 * place: the socket appears (or replaces a stale one) only when it
	 * accepts connections, with its final mode and group. */
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s.%ld.new",
			     ctl->path,
			     (long)getpid()) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a socket",
			 ctl->path);
		free(ctl->path);
		free(ctl);
		return -ENAMETOOLONG;
	}
	ctl->fd =
	    socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r = ctl->fd < 0 ? -errno : replaceable(ctl->path, err, errlen);
	if (r == 0) {
		unlink(sa.sun_path);
		old = umask(0117); /* never a moment with a wider mode */
		if (bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			r = -errno;
		umask(old);
	}
	if (r == 0)
		r = socket_owner(ctl, sa.sun_path, err, errlen);
	if (r == 0 && listen(ctl->fd, 64) < 0)
		r = -errno;
	if (r == 0 && rename(sa.sun_path, ctl->path) < 0)
		r = -errno;
	if (r == 0)
		r = loop_add_fd(k->loop, ctl->fd, POLLIN, on_accept, ctl);
	if (r < 0) {
		unlink(sa.sun_path);
		if (!err[0])
			snprintf(err, errlen, "%s: %s", ctl->path,
				 strerror(-r));
		if (ctl->fd >= 0)
			close(ctl->fd);
		free(ctl->path);
		free(ctl);
		return r;
	}
	k->control = ctl;
	return 0;
}

void control_close(struct kipd *k)
{
	struct control *ctl = k->control;

	if (!ctl)
		return;
	while (ctl->conns)
		conn_close(ctl->conns);
	loop_del_fd(k->loop, ctl->fd);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
	k->control = NULL;
}
