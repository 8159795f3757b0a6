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
	fmt.Fprintf(&b, "#define MAX_FILE %d\n", MaxFileSize)
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
	switch v {
	case NoOff:
		return "NULL"
	case BadOff:
		return "0"
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
	switch v {
	case NoOff:
		return "NULL"
	case BadOff:
		return "badoff"
	}
	return "&" + name
}
