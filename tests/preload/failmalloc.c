/* failmalloc.c — an LD_PRELOAD shim that makes allocations fail on cue,
 * for fault injection (tests/integration/t_faults.sh, docs/FAULTS.md).
 *
 *   LD_PRELOAD=build/preload/failmalloc.so KIP_FAILMALLOC_AFTER=100 kipd ...
 *
 * It replaces malloc, calloc, realloc, strdup and strndup. Until it is
 * armed, every call is passed to glibc. Once armed, a call is a candidate;
 * which candidates fail is set by the environment:
 *
 *   KIP_FAILMALLOC_ARM=accept  armed when accept()/accept4() first returns
 *                    a connection (kipd: the first control request), the
 *                    default; "start": armed from the first call on
 *   KIP_FAILMALLOC_SCOPE=all   every call counts, also those from libraries
 *                    (SQLite, jansson, OpenSSL, libcurl, GLib), the default;
 *                    "self": only calls made directly by the main program's
 *                    own code (kipd's files, not its libraries)
 *   KIP_FAILMALLOC_AFTER=N     the first N candidates succeed (default 0)
 *   KIP_FAILMALLOC_EVERY=K     after those, every K-th candidate fails
 *                    (default 1: all of them)
 *   KIP_FAILMALLOC_PROB=P      instead of EVERY: each candidate after AFTER
 *                    fails with probability P (0 < P <= 1), from a fixed
 *   KIP_FAILMALLOC_SEED=S      seed S (default 1), so a run can be repeated
 *   KIP_FAILMALLOC_MAX=M       at most M failures in all, then none (default
 *                    unlimited)
 *   KIP_FAILMALLOC_LOG=FILE    appends one line per injected failure (the
 *                    first 10,000: number, function, size, caller address)
 *                    and, at exit or on a fatal signal, a summary; a fatal
 *                    signal (SEGV, BUS, ILL, FPE, ABRT) also writes a
 *                    backtrace (addresses resolve with addr2line -e kipd)
 *
 * Not for builds with AddressSanitizer, which replaces malloc itself.
 * Nothing here allocates: the shim calls glibc's __libc_* functions and
 * writes its log with write(2).
 */
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);

#define MAX_LOGGED 10000
#define MAX_SEGMENTS 8

static atomic_bool armed;
static atomic_ulong candidates; /* calls since arming */
static atomic_ulong failures;
static bool arm_on_accept = true;
static bool scope_self;
static unsigned long after;
static unsigned long every = 1;
static double prob;
static unsigned long max_failures = (unsigned long)-1;
static atomic_ullong rng_state = 1;
static int log_fd = -1;
static struct {
	uintptr_t lo, hi;
} self_seg[MAX_SEGMENTS];
static int n_self_seg;
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);

/* A formatted line through write(2): vsnprintf on a stack buffer does not
 * allocate for the plain conversions used here. */
static void say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (log_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	(void)!write(log_fd, line, (size_t)n);
}

static unsigned long env_ulong(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return dflt;
	errno = 0;
	v = strtoul(s, &end, 10);
	return (errno || *end) ? dflt : v;
}

/* splitmix64: a small, well-mixed generator for the probability mode. */
static uint64_t next_random(void)
{
	uint64_t z = atomic_fetch_add(&rng_state, 0x9e3779b97f4a7c15ULL) +
		     0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	/* The first object is the main program. */
	for (int i = 0; i < info->dlpi_phnum && n_self_seg < MAX_SEGMENTS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		self_seg[n_self_seg].lo = info->dlpi_addr + ph->p_vaddr;
		self_seg[n_self_seg].hi =
			info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		n_self_seg++;
	}
	return 1; /* stop after the first */
}

static bool from_self(const void *caller)
{
	uintptr_t a = (uintptr_t)caller;

	for (int i = 0; i < n_self_seg; i++)
		if (a >= self_seg[i].lo && a < self_seg[i].hi)
			return true;
	return false;
}

/* Whether this call fails. */
static bool should_fail(const char *fn, size_t size, const void *caller)
{
	unsigned long n, f;
	bool fail;

	if (!atomic_load_explicit(&armed, memory_order_relaxed))
		return false;
	if (scope_self && !from_self(caller))
		return false;
	n = atomic_fetch_add(&candidates, 1) + 1;
	if (n <= after)
		return false;
	if (prob > 0)
		fail = (double)(next_random() >> 11) * 0x1.0p-53 < prob;
	else
		fail = (n - after) % every == 0;
	if (!fail)
		return false;
	f = atomic_fetch_add(&failures, 1) + 1;
	if (f > max_failures)
		return false;
	if (f <= MAX_LOGGED)
		say("failmalloc: fail %lu %s(%zu) caller %p\n", f, fn, size,
		    caller);
	return true;
}

static void summary(void)
{
	unsigned long f = atomic_load(&failures);

	say("failmalloc: pid %ld: %lu candidate calls, %lu failed\n",
	    (long)getpid(), atomic_load(&candidates),
	    f > max_failures ? max_failures : f);
}

static void on_fatal(int sig)
{
	void *frames[64];
	int n;

	say("failmalloc: pid %ld: fatal signal %d after %lu injected "
	    "failures; backtrace:\n",
	    (long)getpid(), sig, atomic_load(&failures));
	n = backtrace(frames, 64);
	if (log_fd >= 0)
		backtrace_symbols_fd(frames, n, log_fd);
	signal(sig, SIG_DFL);
	raise(sig);
}

__attribute__((constructor)) static void failmalloc_init(void)
{
	const char *s;
	void *warm[2];
	struct sigaction sa;

	s = getenv("KIP_FAILMALLOC_LOG");
	if (s && *s)
		log_fd = open(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0600);
	s = getenv("KIP_FAILMALLOC_ARM");
	arm_on_accept = !(s && strcmp(s, "start") == 0);
	s = getenv("KIP_FAILMALLOC_SCOPE");
	scope_self = s && strcmp(s, "self") == 0;
	after = env_ulong("KIP_FAILMALLOC_AFTER", 0);
	every = env_ulong("KIP_FAILMALLOC_EVERY", 1);
	if (every == 0)
		every = 1;
	s = getenv("KIP_FAILMALLOC_PROB");
	if (s && *s) {
		char *end;
		double p = strtod(s, &end);

		if (!*end && p > 0 && p <= 1)
			prob = p;
	}
	atomic_store(&rng_state, env_ulong("KIP_FAILMALLOC_SEED", 1));
	max_failures = env_ulong("KIP_FAILMALLOC_MAX", (unsigned long)-1);
	dl_iterate_phdr(find_self, NULL);
	real_accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(
		RTLD_NEXT, "accept");
	real_accept4 =
		(int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(
			RTLD_NEXT, "accept4");
	/* backtrace() loads libgcc_s on its first use, which allocates:
	 * do that now, not in a signal handler. */
	backtrace(warm, 2);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
	say("failmalloc: pid %ld: arm=%s scope=%s after=%lu every=%lu "
	    "prob=%g\n",
	    (long)getpid(), arm_on_accept ? "accept" : "start",
	    scope_self ? "self" : "all", after, every, prob);
	if (!arm_on_accept)
		atomic_store(&armed, true);
}

__attribute__((destructor)) static void failmalloc_fini(void)
{
	summary();
}

void *malloc(size_t size)
{
	if (should_fail("malloc", size, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (should_fail("calloc", n * size, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	/* realloc(p, 0) frees: never a failure to inject. */
	if (size && should_fail("realloc", size, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, size);
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d;

	if (should_fail("strdup", n, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	d = __libc_malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d;

	if (should_fail("strndup", n + 1, __builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	d = __libc_malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void arm_after_accept(int fd)
{
	if (fd >= 0 && arm_on_accept &&
	    !atomic_exchange(&armed, true))
		say("failmalloc: pid %ld: armed at the first accepted "
		    "connection\n",
		    (long)getpid());
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int r = real_accept(fd, addr, len);

	arm_after_accept(r);
	return r;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int r = real_accept4(fd, addr, len, flags);

	arm_after_accept(r);
	return r;
}
