package fuzz

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Bound is how long one program may run before the rest of it counts
// as blocked: the call it is in is traced "blocked" and the process ends.
const Bound = 2 * time.Second

// MaxFileSize is the program's RLIMIT_FSIZE: no file or memfd grows past
// it (a write that would is cut short there, one that starts there is
// EFBIG and SIGXFSZ), so that no program can fill the guest's memory — a
// memfd sendfile'd into itself for 2 GiB grew until the guest's OOM
// killer took the fuzz server, on every kernel.
const MaxFileSize = 8 << 20

const (
	page  = 4096
	guard = 32 // unmapped pages after each buffer: a vmsplice past its end faults, never reaches another mapping
)

// Execute runs p in this process, writing its trace to w line by line
// as each call returns; the working directory receives its files. It
// ends the process (exit 0) when the program outlives bound, tracing the
// call it was in as blocked; it is meant for a process of its own
// (Worker).
func Execute(p Prog, w io.Writer, bound time.Duration) {
	execute(p, w, bound, nil, "")
}

// execute is Execute, tracing the calls' coverage with k when it is not
// nil and writing the program's signal to coverOut when all its calls
// have returned.
func execute(p Prog, w io.Writer, bound time.Duration, k *kcov, coverOut string) {
	lim := unix.Rlimit{Cur: MaxFileSize, Max: MaxFileSize}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Fprintf(w, "0 setrlimit(RLIMIT_FSIZE) = %s\n", ret(0, err))
		return
	}
	x := &executor{w: w, sigs: make(chan os.Signal, 64)}
	signal.Notify(x.sigs, append(traced[:], sentinel)...)
	if p, err := unix.MmapPtr(-1, 0, nil, page, unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS); err == nil {
		x.bad = p
	}
	for i := range x.fds {
		x.fds[i] = -1
	}
	time.AfterFunc(bound, func() {
		x.mu.Lock()
		fmt.Fprintf(x.w, "%s blocked\n", x.cur)
		os.Exit(0)
	})
	if k != nil && k.enable() != nil {
		k = nil
	}
	for i, c := range p.Calls {
		x.mu.Lock()
		x.cur = fmt.Sprintf("%d %s =", i, c)
		x.mu.Unlock()
		res := x.call(i, c) + x.raised()
		x.mu.Lock()
		fmt.Fprintf(x.w, "%s %s\n", x.cur, res)
		x.mu.Unlock()
	}
	x.mu.Lock() // the bound's timer may not print past the end
	if k != nil {
		writeCover(coverOut, k.collect())
	}
}

type mapping struct {
	base unsafe.Pointer // nil when unmapped
	rw   int            // bytes readable and writable; guard pages follow
}

type executor struct {
	mu   sync.Mutex
	w    io.Writer
	cur  string
	fds  [FdSlots]int
	bufs [BufSlots]mapping
	sigs chan os.Signal
	bad  unsafe.Pointer // a PROT_NONE page: where a BadOff offset points
}

// traced are the signals a call can raise in its own process that a
// trace records (" sig=PIPE"), in the order it names them: SIGPIPE of a
// pipe or socket without a reader, SIGIO of an O_ASYNC descriptor,
// SIGXFSZ of a file past its limit. They are caught, never ignored or
// fatal, in Execute and in the C reproducer alike. (Not SIGURG: Go's
// runtime sends it to itself.)
var traced = [...]os.Signal{syscall.SIGPIPE, syscall.SIGIO, syscall.SIGXFSZ}

// sentinel is the signal the executor sends itself after each call. Go
// hands caught signals on in order of arrival, and those pending at once
// in order of number, so once the sentinel (numbered above every traced
// signal) arrives, every signal the call raised has too.
const sentinel = syscall.Signal(40)

// raised is " sig=NAME…" for the traced signals the last call raised,
// "" when none.
func (x *executor) raised() string {
	if err := unix.Kill(unix.Getpid(), sentinel); err != nil {
		return ""
	}
	var got [len(traced)]bool
	for s := range x.sigs {
		if s == sentinel {
			break
		}
		for i, t := range traced {
			if s == t {
				got[i] = true
			}
		}
	}
	var names []string
	for i, g := range got {
		if g {
			names = append(names, strings.TrimPrefix(unix.SignalName(traced[i].(syscall.Signal)), "SIG"))
		}
	}
	if names == nil {
		return ""
	}
	return " sig=" + strings.Join(names, ",")
}

// Pattern is the byte at offset i of the data with the given seed: files
// and buffers hold seed 1+slot and 100+slot, each write 200+call.
func Pattern(seed, i int) byte { return byte(seed*131 + i*7 + i>>12) }

func fill(b []byte, seed int) {
	for i := range b {
		b[i] = Pattern(seed, i)
	}
}

// Sum is the data checksum a trace prints: 32-bit FNV-1a.
func Sum(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}

// ret renders a call's return: the value, or -1 and the errno's name.
func ret(n int64, err error) string {
	if err != nil {
		if e, ok := err.(unix.Errno); ok {
			return "-1 " + ErrnoName(e)
		}
		return "-1 " + err.Error()
	}
	return fmt.Sprint(n)
}

func (x *executor) fd(v int64) int { return x.fds[v] }

func (x *executor) call(i int, c Call) string {
	a := c.Args
	if h, ok := heldArgs[c.Op]; ok && h[0] < len(a) && isHeld(a[h[0]]) {
		a = append([]int64(nil), a...)
		a[h[0]] = x.held(a[h[1]], a[h[0]]-Held)
	}
	switch c.Op {
	case "pipe2":
		var p [2]int
		err := unix.Pipe2(p[:], int(a[2]))
		if err == nil {
			x.fds[a[0]], x.fds[a[1]] = p[0], p[1]
		}
		return ret(0, err)
	case "memfd":
		fd, err := unix.MemfdCreate("fz", 0)
		if err != nil {
			return ret(0, err)
		}
		x.fds[a[0]] = fd
		b := make([]byte, a[1])
		fill(b, 1+int(a[0]))
		if _, err := unix.Write(fd, b); err != nil {
			return ret(0, err)
		}
		_, err = unix.Seek(fd, 0, 0)
		return ret(0, err)
	case "file":
		name := fmt.Sprintf("f%d", a[0])
		fd, err := unix.Open(name, unix.O_CREAT|unix.O_TRUNC|unix.O_RDWR, 0o600)
		if err != nil {
			return ret(0, err)
		}
		b := make([]byte, a[1])
		fill(b, 1+int(a[0]))
		_, err = unix.Write(fd, b)
		unix.Close(fd)
		if err != nil {
			return ret(0, err)
		}
		fd, err = unix.Open(name, int(a[2]), 0)
		if err == nil {
			x.fds[a[0]] = fd
		}
		return ret(0, err)
	case "socketpair":
		p, err := unix.Socketpair(unix.AF_UNIX, int(a[2]|a[3]), 0)
		if err == nil {
			x.fds[a[0]], x.fds[a[1]] = p[0], p[1]
		}
		return ret(0, err)
	case "tcp":
		cl, sv, err := tcpPair(int(a[2]))
		if err == nil {
			x.fds[a[0]], x.fds[a[1]] = cl, sv
		}
		return ret(0, err)
	case "eventfd":
		fd, err := unix.Eventfd(0, int(a[1]))
		if err == nil {
			x.fds[a[0]] = fd
		}
		return ret(0, err)
	case "mmap":
		x.unmap(a[0])
		n := int(a[1]) * page
		p, err := unix.MmapPtr(-1, 0, nil, uintptr(n+guard*page), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return ret(0, err)
		}
		b := unsafe.Slice((*byte)(p), n)
		if err := unix.Mprotect(b, unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return ret(0, err)
		}
		fill(b, 100+int(a[0]))
		x.bufs[a[0]] = mapping{base: p, rw: n}
		return "0"
	case "munmap":
		if x.bufs[a[0]].base == nil {
			return ret(0, unix.EINVAL)
		}
		x.unmap(a[0])
		return "0"
	case "mremap":
		m := x.bufs[a[0]]
		if m.base == nil {
			return ret(0, unix.EFAULT)
		}
		n := int(a[1]) * page
		to, err := unix.MmapPtr(-1, 0, nil, uintptr(n+guard*page), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return ret(0, err)
		}
		if _, err := unix.MremapPtr(m.base, uintptr(m.rw), to, uintptr(n), unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED); err != nil {
			unix.MunmapPtr(to, uintptr(n+guard*page))
			return ret(0, err)
		}
		unix.MunmapPtr(unsafe.Add(m.base, m.rw), guard*page)
		x.bufs[a[0]] = mapping{base: to, rw: n}
		return "0"
	case "poke":
		m := x.bufs[a[0]]
		if m.base == nil || int(a[1]) >= m.rw {
			return ret(0, unix.EFAULT)
		}
		*(*byte)(unsafe.Add(m.base, a[1])) = byte(a[2])
		return "0"
	case "write":
		b := make([]byte, a[1])
		fill(b, 200+i)
		n, err := unix.Write(x.fd(a[0]), b)
		return ret(int64(n), err)
	case "read":
		b := make([]byte, a[1])
		n, err := unix.Read(x.fd(a[0]), b)
		return withData(int64(n), err, b)
	case "writev", "pwritev2":
		b := make([]byte, a[1])
		fill(b, 200+i)
		if c.Op == "writev" {
			n, err := unix.Writev(x.fd(a[0]), split(b, int(a[2])))
			return ret(int64(n), err)
		}
		n, err := unix.Pwritev2(x.fd(a[0]), split(b, 2), a[2], int(a[3]))
		return ret(int64(n), err)
	case "readv", "preadv2":
		b := make([]byte, a[1])
		var n int
		var err error
		if c.Op == "readv" {
			n, err = unix.Readv(x.fd(a[0]), split(b, int(a[2])))
		} else {
			n, err = unix.Preadv2(x.fd(a[0]), split(b, 2), a[2], int(a[3]))
		}
		return withData(int64(n), err, b)
	case "splice":
		in, out := x.offPtr(a[1]), x.offPtr(a[3])
		n, err := unix.Splice(x.fd(a[0]), in, x.fd(a[2]), out, int(a[4]), int(a[5]))
		return ret(n, err) + x.offNote("off_in", in) + x.offNote("off_out", out)
	case "tee":
		n, err := unix.Tee(x.fd(a[0]), x.fd(a[1]), int(a[2]), int(a[3]))
		return ret(n, err)
	case "vmsplice":
		m := x.bufs[a[1]]
		var iovs []unix.Iovec
		for _, p := range parts(int(a[3]), int(a[4])) {
			at := min(int(a[2]), m.rw) + p[0]
			v := unix.Iovec{Base: (*byte)(unsafe.Add(m.base, at))}
			v.SetLen(p[1])
			iovs = append(iovs, v)
		}
		n, err := unix.Vmsplice(x.fd(a[0]), iovs, int(a[5]))
		s := ret(int64(n), err)
		if m.base != nil {
			s += fmt.Sprintf(" buf=%08x", Sum(unsafe.Slice((*byte)(m.base), m.rw)))
		}
		return s
	case "sendfile":
		o := x.offPtr(a[2])
		n, err := unix.Sendfile(x.fd(a[0]), x.fd(a[1]), o, int(a[3]))
		return ret(int64(n), err) + x.offNote("off", o)
	case "copy_file_range":
		in, out := x.offPtr(a[1]), x.offPtr(a[3])
		n, err := unix.CopyFileRange(x.fd(a[0]), in, x.fd(a[2]), out, int(a[4]), int(a[5]))
		return ret(int64(n), err) + x.offNote("off_in", in) + x.offNote("off_out", out)
	case "nonblock":
		fl, err := unix.FcntlInt(uintptr(x.fd(a[0])), unix.F_GETFL, 0)
		if err != nil {
			return ret(0, err)
		}
		if a[1] != 0 {
			fl |= unix.O_NONBLOCK
		} else {
			fl &^= unix.O_NONBLOCK
		}
		_, err = unix.FcntlInt(uintptr(x.fd(a[0])), unix.F_SETFL, fl)
		return ret(0, err)
	case "setpipesz":
		n, err := unix.FcntlInt(uintptr(x.fd(a[0])), unix.F_SETPIPE_SZ, int(a[1]))
		return ret(int64(n), err)
	case "getpipesz":
		n, err := unix.FcntlInt(uintptr(x.fd(a[0])), unix.F_GETPIPE_SZ, 0)
		return ret(int64(n), err)
	case "close":
		err := unix.Close(x.fd(a[0]))
		x.fds[a[0]] = -1 // a later use is EBADF, never a descriptor reused
		return ret(0, err)
	case "fionread":
		n, err := unix.IoctlGetInt(x.fd(a[0]), unix.TIOCINQ) // FIONREAD
		if err != nil {
			return ret(0, err)
		}
		return fmt.Sprintf("0 n=%d", n)
	case "lseek":
		n, err := unix.Seek(x.fd(a[0]), a[1], int(a[2]))
		return ret(n, err)
	case "fsize":
		var st unix.Stat_t
		if err := unix.Fstat(x.fd(a[0]), &st); err != nil {
			return ret(0, err)
		}
		return fmt.Sprintf("0 size=%d", st.Size)
	}
	return "-1 ENOSYS"
}

func (x *executor) unmap(slot int64) {
	if m := x.bufs[slot]; m.base != nil {
		unix.MunmapPtr(m.base, uintptr(m.rw+guard*page))
	}
	x.bufs[slot] = mapping{}
}

// tcpPair connects two TCP sockets over loopback: the client and the
// accepted one, flags (O_NONBLOCK) set on both once connected.
func tcpPair(flags int) (int, int, error) {
	l, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, -1, err
	}
	defer unix.Close(l)
	if err := unix.Bind(l, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, -1, err
	}
	if err := unix.Listen(l, 1); err != nil {
		return -1, -1, err
	}
	sa, err := unix.Getsockname(l)
	if err != nil {
		return -1, -1, err
	}
	cl, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, -1, err
	}
	if err := unix.Connect(cl, sa); err != nil {
		return -1, -1, err
	}
	sv, _, err := unix.Accept4(l, flags)
	if err != nil {
		return -1, -1, err
	}
	if flags != 0 {
		unix.SetNonblock(cl, true)
	}
	return cl, sv, nil
}

// parts splits n bytes into k consecutive pieces (offset, length), the
// last taking the remainder.
// held resolves a Held length: what descriptor slot s holds now (FIONREAD,
// at most MaxHeld), plus d, never below 0.
func (x *executor) held(s, d int64) int64 {
	n, err := unix.IoctlGetInt(x.fd(s), unix.TIOCINQ) // FIONREAD
	if err != nil {
		n = 0
	}
	return max(min(int64(n), MaxHeld)+d, 0)
}

func parts(n, k int) [][2]int {
	out := make([][2]int, k)
	each := n / k
	for i := range k {
		out[i] = [2]int{i * each, each}
	}
	out[k-1][1] = n - (k-1)*each
	return out
}

func split(b []byte, k int) [][]byte {
	var out [][]byte
	for _, p := range parts(len(b), k) {
		out = append(out, b[p[0]:p[0]+p[1]])
	}
	return out
}

func withData(n int64, err error, b []byte) string {
	s := ret(n, err)
	if err == nil && n > 0 {
		s += fmt.Sprintf(" data=%08x", Sum(b[:n]))
	}
	return s
}

// offPtr is an offset argument's pointer: nil, the unmapped page, or
// the address of a copy of v.
func (x *executor) offPtr(v int64) *int64 {
	switch v {
	case NoOff:
		return nil
	case BadOff:
		return (*int64)(x.bad) // outside Go's heap: the collector ignores it
	}
	return &v
}

// offNote is " name=OFFSET" after the call, "" for a NULL or unmapped
// pointer.
func (x *executor) offNote(name string, p *int64) string {
	if p == nil || unsafe.Pointer(p) == x.bad {
		return ""
	}
	return fmt.Sprintf(" %s=%d", name, *p)
}
