package suites

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raw syscall helpers where x/sys/unix gives no control over the
// arguments (bad pointers, odd iovec counts).

// iov builds an iovec array over bufs.
func iov(bufs ...[]byte) []unix.Iovec {
	v := make([]unix.Iovec, len(bufs))
	for i, b := range bufs {
		if len(b) > 0 {
			v[i].Base = &b[0]
		}
		v[i].SetLen(len(b))
	}
	return v
}

// vmsplice calls vmsplice(2) with iovs exactly as given (nil for none).
func vmsplice(fd int, iovs []unix.Iovec, flags int) (int, error) {
	var p unsafe.Pointer
	if len(iovs) > 0 {
		p = unsafe.Pointer(&iovs[0])
	}
	n, _, e := unix.Syscall6(unix.SYS_VMSPLICE, uintptr(fd), uintptr(p), uintptr(len(iovs)), uintptr(flags), 0, 0)
	if e != 0 {
		return int(n), e
	}
	return int(n), nil
}

// vmspliceBad calls vmsplice(2) with one iovec at an unmapped address
// (page 1, never mapped), built as raw words so no Go pointer is faked.
func vmspliceBad(fd int, length int, flags int) (int, error) {
	raw := [2]uint64{4096, uint64(length)} // struct iovec {base, len}
	n, _, e := unix.Syscall6(unix.SYS_VMSPLICE, uintptr(fd), uintptr(unsafe.Pointer(&raw)), 1, uintptr(flags), 0, 0)
	if e != 0 {
		return int(n), e
	}
	return int(n), nil
}

func splice(in int, inOff *int64, out int, outOff *int64, n int, flags int) (int, error) {
	r, err := unix.Splice(in, inOff, out, outOff, n, flags)
	return int(r), err
}

// spliceRaw calls splice(2) with the offset pointers as raw addresses
// (0 for NULL), for pointers Go would not make: unmapped or read-only.
func spliceRaw(in int, offIn uintptr, out int, offOut uintptr, n int, flags int) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_SPLICE, uintptr(in), offIn, uintptr(out), offOut, uintptr(n), uintptr(flags))
	if e != 0 {
		return int(r), e
	}
	return int(r), nil
}

// readOnlyOffset returns the address of a loff_t holding off in a page
// the case may read and the kernel may not write: PROT_READ.
func (t *T) readOnlyOffset(off int64) uintptr {
	mem := t.Mmap(page)
	*(*int64)(unsafe.Pointer(&mem[0])) = off
	Must(unix.Mprotect(mem, unix.PROT_READ))
	return uintptr(unsafe.Pointer(&mem[0]))
}

// pipeHolds is how many bytes the pipe's read end r has waiting.
func pipeHolds(r int) int {
	n, err := unix.IoctlGetInt(r, unix.TIOCINQ) // FIONREAD
	if err != nil {
		return -1
	}
	return n
}

func tee(in, out, n, flags int) (int, error) {
	r, err := unix.Tee(in, out, n, flags)
	return int(r), err
}

// readAll reads from fd until n bytes arrived, EOF, or EAGAIN.
func readAll(fd, n int) []byte {
	out := make([]byte, 0, n)
	buf := make([]byte, 65536)
	for len(out) < n {
		m, err := unix.Read(fd, buf[:min(len(buf), n-len(out))])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			break
		}
		out = append(out, buf[:m]...)
	}
	return out
}

// writeAll writes b to fd.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// fionread returns how many bytes wait in a pipe or socket.
func fionread(fd int) int {
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
	if err != nil {
		return -1
	}
	return n
}

// fillPipe writes to a nonblocking-flagged pipe end until it is full and
// returns how many bytes it took.
func fillPipe(w int) int {
	fl, _ := unix.FcntlInt(uintptr(w), unix.F_GETFL, 0)
	unix.FcntlInt(uintptr(w), unix.F_SETFL, fl|unix.O_NONBLOCK)
	defer unix.FcntlInt(uintptr(w), unix.F_SETFL, fl)
	buf := make([]byte, 4096)
	total := 0
	for {
		n, err := unix.Write(w, buf)
		if err != nil || n <= 0 {
			return total
		}
		total += n
	}
}

// changed counts the positions where a and b differ.
func changed(a, b []byte) int {
	n := 0
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// procIO returns the named counters of /proc/self/io.
func procIO() map[string]int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			out[k], _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return out
}

// readFile reads a whole file.
func readFile(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(fatal{err})
	}
	return b
}

func eq(a, b []byte) bool { return bytes.Equal(a, b) }

func res(n int, err error) string { return resultValue(n, err) }

func kv(k string, v any) string { return fmt.Sprintf("%s=%v", k, v) }

// fsImmutableFL is FS_IMMUTABLE_FL of <linux/fs.h>, for FS_IOC_SETFLAGS.
const fsImmutableFL = 0x10

// withSIGPIPE runs call on one thread with SIGPIPE blocked there and
// returns call's result and whether it raised SIGPIPE. The kernel sends
// the pipe's SIGPIPE to the calling thread (send_sig, thread-directed),
// so blocked it stays pending on that thread, where it is taken back
// (rt_sigtimedwait, no wait) before the mask is restored: the case sees
// the signal without a handler, and Go's runtime never does.
func withSIGPIPE(call func() (int, error)) (n int, err error, raised bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	set.Val[0] = 1 << (uint(unix.SIGPIPE) - 1)
	if e := unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old); e != nil {
		panic(fatal{fmt.Errorf("block SIGPIPE: %w", e)})
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	n, err = call()
	var zero unix.Timespec
	sig, _, e := unix.Syscall6(unix.SYS_RT_SIGTIMEDWAIT, uintptr(unsafe.Pointer(&set)), 0, uintptr(unsafe.Pointer(&zero)), unsafe.Sizeof(set.Val[0]), 0, 0)
	return n, err, e == 0 && sig == uintptr(unix.SIGPIPE)
}

// sigpipeResult is call's result and whether it raised SIGPIPE.
func sigpipeResult(call func() (int, error)) Observation {
	n, err, raised := withSIGPIPE(call)
	return Seq(res(n, err), kv("SIGPIPE", raised))
}

// readable reports whether poll(2) says fd has data to read now.
func readable(fd int) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n == 1 && fds[0].Revents&unix.POLLIN != 0
}

// withFileSizeLimit runs call with the process's RLIMIT_FSIZE soft limit
// at limit bytes, restored before it returns, so that a write into a file
// beyond it is cut short (and SIGXFSZ, which Go ignores, is not needed).
func withFileSizeLimit(limit uint64, call func() (int, error)) (int, error) {
	var old unix.Rlimit
	Must(unix.Getrlimit(unix.RLIMIT_FSIZE, &old))
	Must(unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: limit, Max: old.Max}))
	defer unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
	return call()
}
