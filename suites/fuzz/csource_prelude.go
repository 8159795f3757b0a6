package fuzz

// cPrelude holds the helpers every reproducer shares: the trace's line,
// the data patterns and checksum, and the calls that take several steps.
// Each mirrors Execute's Go exactly.
const cPrelude = `
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define H static __attribute__((unused))
#define PAGE 4096
#define GUARD 32

static int r[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
static struct { char *base; long rw; } b[4];
static char cur[512], res[256];

static const char *errname(int e);

static void begin(int i, const char *call)
{
	snprintf(cur, sizeof cur, "%d %s =", i, call);
	res[0] = 0;
}

H void note(const char *fmt, ...);

/* raised: the traced signals caught since the last call ended, as bits
 * of traced[]; end() names them as Execute does (" sig=PIPE,IO"). */
static volatile sig_atomic_t raised;
static const int traced[] = {SIGPIPE, SIGIO, SIGXFSZ};
static const char *const traced_name[] = {"PIPE", "IO", "XFSZ"};

static void on_traced(int sig)
{
	for (int i = 0; i < 3; i++)
		if (traced[i] == sig)
			raised |= 1 << i;
}

static void end(void)
{
	const char *sep = " sig=";
	for (int i = 0; i < 3; i++)
		if (raised & (1 << i)) {
			note("%s%s", sep, traced_name[i]);
			sep = ",";
		}
	raised = 0;
	printf("%s %s\n", cur, res);
	fflush(stdout);
}

H void note(const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(res);
	va_start(ap, fmt);
	vsnprintf(res + n, sizeof res - n, fmt, ap);
	va_end(ap);
}

H void ret(long n)
{
	if (n < 0)
		note("-1 %s", errname(errno));
	else
		note("%ld", n);
}

H unsigned char pattern(int seed, long i) { return (unsigned char)(seed * 131 + i * 7 + (i >> 12)); }

H void fill(char *p, long n, int seed)
{
	for (long i = 0; i < n; i++)
		p[i] = pattern(seed, i);
}

H unsigned sum32(const char *p, long n)
{
	unsigned h = 2166136261u;
	for (long i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

H void sum(const char *p, long n)
{
	if (n > 0)
		note(" data=%08x", sum32(p, n));
}

/* held: what descriptor fd holds now (FIONREAD, at most MAX_HELD) plus d,
 * never below 0: the trace's held, held-1, held+1. */
H long held(int fd, long d)
{
	int n = 0;
	if (ioctl(fd, FIONREAD, &n) < 0)
		n = 0;
	long v = (n > MAX_HELD ? MAX_HELD : n) + d;
	return v < 0 ? 0 : v;
}

H char *data(long n, int seed)
{
	char *p = calloc(1, n + 1);
	fill(p, n, seed);
	return p;
}

H void vec(struct iovec *v, char *p, long n, int k)
{
	long each = n / k;
	for (int i = 0; i < k; i++) {
		v[i].iov_base = p + i * each;
		v[i].iov_len = each;
	}
	v[k - 1].iov_len = n - (k - 1) * each;
}

/* badoff: a PROT_NONE page, where an offset argument "BAD" points. */
static long long *badoff;

H void offnote(const char *name, long long *p)
{
	if (p && p != badoff)
		note(" %s=%lld", name, *p);
}

H void on_alarm(int sig)
{
	(void)sig;
	printf("%s blocked\n", cur);
	fflush(stdout);
	_exit(0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* setup makes the program's scratch directory and runs the program in a
 * child, bounded by its alarm; the parent removes the directory however
 * the child ended and ends as it did. */
static void setup(void)
{
	char dir[] = "/tmp/fzXXXXXX";
	int status;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir)) {
		perror("scratch directory");
		exit(2);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		struct rlimit fsize = {MAX_FILE, MAX_FILE};
		if (setrlimit(RLIMIT_FSIZE, &fsize) < 0) {
			perror("setrlimit");
			exit(2);
		}
		struct sigaction sa = {.sa_handler = on_traced, .sa_flags = SA_RESTART};
		for (int i = 0; i < 3; i++)
			sigaction(traced[i], &sa, NULL);
		signal(SIGALRM, on_alarm);
		badoff = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		alarm(2);
		if (chdir(dir) < 0) {
			perror("scratch directory");
			exit(2);
		}
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
	}
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
}

H void do_memfd(int s, long size)
{
	long fd = syscall(SYS_memfd_create, "fz", 0);
	if (fd < 0) {
		ret(fd);
		return;
	}
	r[s] = fd;
	char *d = data(size, 1 + s);
	long n = write(fd, d, size);
	free(d);
	if (n < 0) {
		ret(n);
		return;
	}
	ret(lseek(fd, 0, SEEK_SET) < 0 ? -1 : 0);
}

H void do_file(int s, long size, int mode)
{
	char name[8];
	snprintf(name, sizeof name, "f%d", s);
	int fd = open(name, O_CREAT | O_TRUNC | O_RDWR, 0600);
	if (fd < 0) {
		ret(fd);
		return;
	}
	char *d = data(size, 1 + s);
	long n = write(fd, d, size);
	int e = errno;
	free(d);
	close(fd);
	if (n < 0) {
		errno = e;
		ret(n);
		return;
	}
	fd = open(name, mode);
	if (fd >= 0)
		r[s] = fd;
	ret(fd < 0 ? -1 : 0);
}

H void do_tcp(int cs, int ss, int flags)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0), cl, sv;
	if (l < 0) {
		ret(-1);
		return;
	}
	if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0 || (cl = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		int e = errno;
		close(l);
		errno = e;
		ret(-1);
		return;
	}
	if (connect(cl, (struct sockaddr *)&a, sizeof a) < 0 || (sv = accept4(l, NULL, NULL, flags)) < 0) {
		int e = errno;
		close(l);
		errno = e;
		ret(-1);
		return;
	}
	if (flags)
		fcntl(cl, F_SETFL, fcntl(cl, F_GETFL) | O_NONBLOCK);
	close(l);
	r[cs] = cl;
	r[ss] = sv;
	ret(0);
}

H void unmap(int s)
{
	if (b[s].base)
		munmap(b[s].base, b[s].rw + GUARD * PAGE);
	b[s].base = NULL;
	b[s].rw = 0;
}

H void do_mmap(int s, long pages)
{
	unmap(s);
	long n = pages * PAGE;
	char *p = mmap(NULL, n + GUARD * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ret(-1);
		return;
	}
	if (mprotect(p, n, PROT_READ | PROT_WRITE) < 0) {
		ret(-1);
		return;
	}
	fill(p, n, 100 + s);
	b[s].base = p;
	b[s].rw = n;
	ret(0);
}

H void do_mremap(int s, long pages)
{
	if (!b[s].base) {
		errno = EFAULT;
		ret(-1);
		return;
	}
	long n = pages * PAGE;
	char *to = mmap(NULL, n + GUARD * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED) {
		ret(-1);
		return;
	}
	if (mremap(b[s].base, b[s].rw, n, MREMAP_MAYMOVE | MREMAP_FIXED, to) == MAP_FAILED) {
		int e = errno;
		munmap(to, n + GUARD * PAGE);
		errno = e;
		ret(-1);
		return;
	}
	munmap(b[s].base + b[s].rw, GUARD * PAGE);
	b[s].base = to;
	b[s].rw = n;
	ret(0);
}

H void do_vmsplice(int fd, int s, long off, long len, int k, unsigned flags)
{
	struct iovec v[1025];
	long at = off < b[s].rw ? off : b[s].rw;
	vec(v, b[s].base + at, len, k);
	ret(syscall(SYS_vmsplice, r[fd], v, (unsigned long)k, flags));
	if (b[s].base)
		note(" buf=%08x", sum32(b[s].base, b[s].rw));
}

H void do_nonblock(int s, int on)
{
	int fl = fcntl(r[s], F_GETFL);
	if (fl < 0) {
		ret(-1);
		return;
	}
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	ret(fcntl(r[s], F_SETFL, fl) < 0 ? -1 : 0);
}
`
