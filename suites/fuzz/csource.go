package fuzz

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// CSource writes p as a standalone C program (libc and the kernel's
// headers only) that makes the same calls as Execute, in the same order
// and with the same data, and prints the same trace. title and notes
// head the file as comments.
func CSource(p Prog, title string, notes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "// %s\n", title)
	for _, n := range notes {
		fmt.Fprintf(&b, "// %s\n", n)
	}
	b.WriteString("//\n// Build: gcc -static -O1 -o repro repro.c\n")
	b.WriteString("// Run in a guest: patchtest boot --kernel K --program $PWD/repro -- $PWD/repro\n")
	b.WriteString("// (from a directory not under /tmp: the guest mounts a tmpfs there)\n")
	b.WriteString("// It prints one line per call, as patchtest's trace of the program.\n")
	fmt.Fprintf(&b, "#define MAX_HELD %d\n", MaxHeld)
	b.WriteString(cPrelude)
	b.WriteString("static const char *errname(int e)\n{\n\tstatic char s[16];\n\tswitch (e) {\n")
	for _, e := range errnos {
		fmt.Fprintf(&b, "\tcase %d: return %q;\n", int(e), unix.ErrnoName(e))
	}
	b.WriteString("\t}\n\tsnprintf(s, sizeof s, \"E%d\", e);\n\treturn s;\n}\n\n")
	b.WriteString("int main(void)\n{\n\tsetup();\n")
	for i, c := range p.Calls {
		fmt.Fprintf(&b, "\n\tbegin(%d, %s);\n", i, strconv.Quote(c.String()))
		b.WriteString(cCall(i, c))
		b.WriteString("\tend();\n")
	}
	b.WriteString("\treturn 0;\n}\n")
	return b.String()
}

func cOff(v int64) string {
	if v == NoOff {
		return "NULL"
	}
	return fmt.Sprintf("%dLL", v)
}

// cCall is one call's C: the same system call, with the arguments
// Execute passes, and the same outcome in res.
func cCall(i int, c Call) string {
	if h, ok := heldArgs[c.Op]; ok && h[0] < len(c.Args) && isHeld(c.Args[h[0]]) {
		return fmt.Sprintf("\t{ long hl = held(r[%d], %d);\n", c.Args[h[1]], c.Args[h[0]]-Held) +
			"\t" + cCallLen(i, c, "hl") + "\t}\n"
	}
	l := ""
	if h, ok := heldArgs[c.Op]; ok && h[0] < len(c.Args) {
		l = fmt.Sprintf("%dLL", c.Args[h[0]])
	}
	return cCallLen(i, c, l)
}

// cCallLen is cCall with the length argument of an operation in heldArgs
// written as the C expression l.
func cCallLen(i int, c Call, l string) string {
	a := c.Args
	switch c.Op {
	case "pipe2":
		return fmt.Sprintf("\t{ int p[2]; long n = syscall(SYS_pipe2, p, %d); if (n == 0) { r[%d] = p[0]; r[%d] = p[1]; } ret(n); }\n", a[2], a[0], a[1])
	case "memfd":
		return fmt.Sprintf("\tdo_memfd(%d, %d);\n", a[0], a[1])
	case "file":
		return fmt.Sprintf("\tdo_file(%d, %d, %d);\n", a[0], a[1], a[2])
	case "socketpair":
		return fmt.Sprintf("\t{ int p[2]; long n = socketpair(AF_UNIX, %d, 0, p); if (n == 0) { r[%d] = p[0]; r[%d] = p[1]; } ret(n); }\n", a[2]|a[3], a[0], a[1])
	case "tcp":
		return fmt.Sprintf("\tdo_tcp(%d, %d, %d);\n", a[0], a[1], a[2])
	case "eventfd":
		return fmt.Sprintf("\t{ long n = syscall(SYS_eventfd2, 0, %d); if (n >= 0) r[%d] = n; ret(n < 0 ? n : 0); }\n", a[1], a[0])
	case "mmap":
		return fmt.Sprintf("\tdo_mmap(%d, %d);\n", a[0], a[1])
	case "munmap":
		return fmt.Sprintf("\tif (!b[%d].base) { errno = EINVAL; ret(-1); } else { unmap(%d); ret(0); }\n", a[0], a[0])
	case "mremap":
		return fmt.Sprintf("\tdo_mremap(%d, %d);\n", a[0], a[1])
	case "poke":
		return fmt.Sprintf("\tif (!b[%d].base || %d >= b[%d].rw) { errno = EFAULT; ret(-1); } else { b[%d].base[%d] = %d; ret(0); }\n", a[0], a[1], a[0], a[0], a[1], a[2])
	case "write":
		return fmt.Sprintf("\t{ char *d = data(%d, %d); ret(write(r[%d], d, %d)); free(d); }\n", a[1], 200+i, a[0], a[1])
	case "read":
		return fmt.Sprintf("\t{ char *d = calloc(1, %d + 1); long n = read(r[%d], d, %d); ret(n); sum(d, n); free(d); }\n", a[1], a[0], a[1])
	case "writev":
		return fmt.Sprintf("\t{ char *d = data(%s, %d); struct iovec v[%d]; vec(v, d, %s, %d); ret(writev(r[%d], v, %d)); free(d); }\n", l, 200+i, a[2], l, a[2], a[0], a[2])
	case "pwritev2":
		return fmt.Sprintf("\t{ char *d = data(%s, %d); struct iovec v[2]; vec(v, d, %s, 2); ret(syscall(SYS_pwritev2, r[%d], v, 2, (unsigned long)%dLL, 0UL, %d)); free(d); }\n", l, 200+i, l, a[0], a[2], a[3])
	case "readv":
		return fmt.Sprintf("\t{ char *d = calloc(1, %s + 1); struct iovec v[%d]; vec(v, d, %s, %d); long n = readv(r[%d], v, %d); ret(n); sum(d, n); free(d); }\n", l, a[2], l, a[2], a[0], a[2])
	case "preadv2":
		return fmt.Sprintf("\t{ char *d = calloc(1, %s + 1); struct iovec v[2]; vec(v, d, %s, 2); long n = syscall(SYS_preadv2, r[%d], v, 2, (unsigned long)%dLL, 0UL, %d); ret(n); sum(d, n); free(d); }\n", l, l, a[0], a[2], a[3])
	case "splice":
		return fmt.Sprintf("\t{ long long oi = %s, oo = %s; long n = syscall(SYS_splice, r[%d], %s, r[%d], %s, (size_t)%s, %#x); ret(n); offnote(\"off_in\", %s); offnote(\"off_out\", %s); (void)oi; (void)oo; }\n",
			cOffVal(a[1]), cOffVal(a[3]), a[0], cOffPtr(a[1], "oi"), a[2], cOffPtr(a[3], "oo"), l, uint32(a[5]), cOffPtr(a[1], "oi"), cOffPtr(a[3], "oo"))
	case "tee":
		return fmt.Sprintf("\tret(syscall(SYS_tee, r[%d], r[%d], (size_t)%s, %#x));\n", a[0], a[1], l, uint32(a[3]))
	case "vmsplice":
		return fmt.Sprintf("\tdo_vmsplice(%d, %d, %d, %s, %d, %#x);\n", a[0], a[1], a[2], l, a[4], uint32(a[5]))
	case "sendfile":
		return fmt.Sprintf("\t{ long long o = %s; long n = syscall(SYS_sendfile, r[%d], r[%d], %s, (size_t)%s); ret(n); offnote(\"off\", %s); (void)o; }\n",
			cOffVal(a[2]), a[0], a[1], cOffPtr(a[2], "o"), l, cOffPtr(a[2], "o"))
	case "copy_file_range":
		return fmt.Sprintf("\t{ long long oi = %s, oo = %s; long n = syscall(SYS_copy_file_range, r[%d], %s, r[%d], %s, (size_t)%s, %d); ret(n); offnote(\"off_in\", %s); offnote(\"off_out\", %s); (void)oi; (void)oo; }\n",
			cOffVal(a[1]), cOffVal(a[3]), a[0], cOffPtr(a[1], "oi"), a[2], cOffPtr(a[3], "oo"), l, a[5], cOffPtr(a[1], "oi"), cOffPtr(a[3], "oo"))
	case "nonblock":
		return fmt.Sprintf("\tdo_nonblock(%d, %d);\n", a[0], a[1])
	case "setpipesz":
		return fmt.Sprintf("\tret(syscall(SYS_fcntl, r[%d], F_SETPIPE_SZ, (long)%dLL));\n", a[0], a[1])
	case "getpipesz":
		return fmt.Sprintf("\tret(syscall(SYS_fcntl, r[%d], F_GETPIPE_SZ, 0L));\n", a[0])
	case "close":
		return fmt.Sprintf("\tret(close(r[%d])); r[%d] = -1;\n", a[0], a[0])
	case "fionread":
		return fmt.Sprintf("\t{ int n = 0; if (ioctl(r[%d], FIONREAD, &n) < 0) ret(-1); else note(\"0 n=%%d\", n); }\n", a[0])
	case "lseek":
		return fmt.Sprintf("\tret(lseek(r[%d], %dLL, %d));\n", a[0], a[1], a[2])
	case "fsize":
		return fmt.Sprintf("\t{ struct stat st; if (fstat(r[%d], &st) < 0) ret(-1); else note(\"0 size=%%lld\", (long long)st.st_size); }\n", a[0])
	}
	return "\terrno = ENOSYS; ret(-1);\n"
}

func cOffVal(v int64) string {
	if v == NoOff {
		return "0"
	}
	return cOff(v)
}

func cOffPtr(v int64, name string) string {
	if v == NoOff {
		return "NULL"
	}
	return "&" + name
}

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

static void end(void)
{
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

H void offnote(const char *name, long long *p)
{
	if (p)
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
		signal(SIGPIPE, SIG_IGN);
		signal(SIGALRM, on_alarm);
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
