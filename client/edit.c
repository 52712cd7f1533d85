/* edit.c — see edit.h. kipctl.c keeps the requests and the command table;
 * the files and the editor process are handled here. */
#include "edit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"

int edit_read_file(const char *path, int flags, struct buf *ret)
{
	int fd, r;

	if (strcmp(path, "-") == 0)
		return buf_read_all(ret, STDIN_FILENO, EDIT_FILE_MAX);
	fd = open(path, O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return -errno;
	r = buf_read_all(ret, fd, EDIT_FILE_MAX); /* stops soon after the max */
	close(fd);
	return r;
}

/* O_NONBLOCK keeps a FIFO from hanging the open: without a reader the open
 * fails (ENXIO), with one fstat() refuses it. */
int edit_write_private(const char *path, const char *data, size_t len)
{
	struct stat st;
	int fd, r;

	fd =
	    open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
		 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((st.st_mode & 077) && fchmod(fd, 0600) < 0)
		r = -errno;
	else if (ftruncate(fd, 0) < 0)
		r = -errno;
	else
		r = fd_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* A new file "$TMPDIR/kip-plan-XXXXXX.yaml" (mode 0600) holding LEN bytes
 * of TEXT. Returns its path (caller frees) or NULL after saying why. */
static char *tempfile(const char *text, size_t len)
{
	const char *dir = getenv("TMPDIR");
	struct buf path = BUF_INIT;
	int fd, r = -ENOMEM;

	if (!dir || !*dir)
		dir = "/tmp";
	if (buf_printf(&path, "%s/kip-plan-XXXXXX.yaml", dir) < 0)
		goto fail;
	fd = mkstemps(path.data, 5);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	r = fd_write_all(fd, text, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		return buf_steal(&path);
	unlink(path.data);
fail:
	fprintf(stderr, "kipctl: cannot write %s: %s\n",
		path.data ? path.data : dir, strerror(-r));
	buf_free(&path);
	return NULL;
}

/* Runs $VISUAL, else $EDITOR, else vi on PATH through the shell (so that
 * "code --wait" works, as git does it) and waits. Returns 0 when the editor
 * exited with status 0, -1 after saying otherwise. Like system(), ignores
 * SIGINT and SIGQUIT meanwhile: they are the editor's. */
static int run_editor(const char *path)
{
	const char *editor = getenv("VISUAL");
	struct sigaction ign = {.sa_handler = SIG_IGN}, oint, oquit;
	struct buf cmd = BUF_INIT;
	int status = 0, e;
	pid_t pid;

	if (!editor || !*editor)
		editor = getenv("EDITOR");
	if (!editor || !*editor)
		editor = "vi";
	if (buf_printf(&cmd, "%s \"$1\"", editor) < 0)
		return -1;
	sigaction(SIGINT, &ign, &oint);
	sigaction(SIGQUIT, &ign, &oquit);
	pid = fork();
	e = errno;
	if (pid == 0) {
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGQUIT, &oquit, NULL);
		execl("/bin/sh", "sh", "-c", cmd.data, "sh", path,
		      (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sigaction(SIGINT, &oint, NULL);
	sigaction(SIGQUIT, &oquit, NULL);
	buf_free(&cmd);
	if (pid < 0)
		fprintf(stderr, "kipctl: cannot run the editor: %s\n",
			strerror(e));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "kipctl: editor %s killed by signal %d\n",
			editor, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		fprintf(stderr, "kipctl: editor %s exited with status %d\n",
			editor, WEXITSTATUS(status));
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0
									: -1;
}

int edit_in_editor(struct edit *e, const char *text, size_t len)
{
	int r;

	e->path = tempfile(text, len);
	if (!e->path || run_editor(e->path) < 0)
		return -1;
	r = edit_read_file(e->path, O_NOFOLLOW, &e->doc);
	if (r < 0) {
		fprintf(stderr, "kipctl: cannot read %s: %s\n", e->path,
			strerror(-r));
		return -1;
	}
	return e->doc.len != len ||
	       memcmp(e->doc.data ? e->doc.data : "", text, len) != 0;
}

void edit_done(struct edit *e, int keep)
{
	if (e->path && !keep)
		unlink(e->path);
	else if (e->path)
		fprintf(stderr, "kipctl: your edit is kept in %s\n", e->path);
	buf_free(&e->doc);
	free(e->path);
	e->path = NULL;
}
