/* test_fdio.c — whole reads and writes on pipes and sockets: the ends of
 * a stream are told apart (closed before a frame, inside one), a peer
 * that went away is an error and not a SIGPIPE, and reads stop at their
 * limit or deadline. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "t.h"

static void test_exact_and_ends(void)
{
	int p[2];
	char got[8] = {0};

	T_ASSERT(pipe(p) == 0);
	T_ASSERT(fd_write_all(p[1], "abcdef", 6) == 0);
	close(p[1]);
	T_ASSERT(fd_read_exact(p[0], got, 4) == 0);
	T_ASSERT(memcmp(got, "abcd", 4) == 0);
	/* two bytes left, four asked: the stream ended inside the frame */
	T_ASSERT(fd_read_exact(p[0], got, 4) == -EPROTO);
	/* nothing left: it ended between frames */
	T_ASSERT(fd_read_exact(p[0], got, 1) == -EPIPE);
	close(p[0]);
}

static void test_nonblocking_empty(void)
{
	int p[2];
	char c;

	T_ASSERT(pipe2(p, O_NONBLOCK) == 0);
	T_ASSERT(fd_read_exact(p[0], &c, 1) == -EAGAIN);
	close(p[0]);
	close(p[1]);
}

static void test_gone_peer_is_an_error(void)
{
	int s[2], p[2];

	/* with SIGPIPE at its default, a signal would end this test */
	signal(SIGPIPE, SIG_DFL);
	T_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0);
	close(s[1]);
	T_ASSERT(fd_write_all(s[0], "x", 1) == -EPIPE);
	close(s[0]);
	/* a pipe is written with write(): the caller must ignore SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	T_ASSERT(pipe(p) == 0);
	close(p[0]);
	T_ASSERT(fd_write_all(p[1], "x", 1) == -EPIPE);
	close(p[1]);
	signal(SIGPIPE, SIG_DFL);
}

static void test_read_all_limit(void)
{
	int p[2];
	struct buf b = BUF_INIT;
	char big[300];

	memset(big, 'a', sizeof(big));
	T_ASSERT(pipe(p) == 0);
	T_ASSERT(fd_write_all(p[1], big, sizeof(big)) == 0);
	close(p[1]);
	T_ASSERT(buf_read_all(&b, p[0], 100) == -EFBIG);
	close(p[0]);
	buf_free(&b);

	T_ASSERT(pipe(p) == 0);
	T_ASSERT(fd_write_all(p[1], "hej", 3) == 0);
	close(p[1]);
	T_ASSERT(buf_read_all(&b, p[0], 100) == 0);
	T_STREQ(b.data, "hej");
	T_ASSERT(b.len == 3);
	close(p[0]);
	buf_free(&b);
}

static void test_read_fd_deadline(void)
{
	int p[2];
	struct buf b = BUF_INIT;

	T_ASSERT(pipe(p) == 0);
	T_ASSERT(fd_write_all(p[1], "svar", 4) == 0);
	/* the writer stays open: the answer never ends */
	T_ASSERT(buf_read_fd(&b, p[0], 50, 100) == -ETIMEDOUT);
	T_STREQ(b.data, "svar");
	close(p[1]);
	T_ASSERT(buf_read_fd(&b, p[0], 1000, 100) == 0);
	close(p[0]);
	buf_free(&b);
}

T_MAIN(T_CASE(test_exact_and_ends), T_CASE(test_nonblocking_empty),
       T_CASE(test_gone_peer_is_an_error), T_CASE(test_read_all_limit),
       T_CASE(test_read_fd_deadline))
