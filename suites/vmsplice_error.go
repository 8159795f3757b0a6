package suites

import (
	"path/filepath"

	"golang.org/x/sys/unix"
)

// vmspliceErrorCases are vmsplice(2)'s refusals: descriptors, flags,
// iovec counts and lengths, and unmapped or read-only memory.
func vmspliceErrorCases() []*Case {
	return []*Case{
		// Arguments and errors.
		{
			ID: "vmsplice/errors/nr-segs-0", Desc: "no iovecs at all",
			Calls: "vmsplice(w, NULL, 0, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				return Result(vmsplice(w, nil, 0))
			},
		},
		{
			ID: "vmsplice/errors/nr-segs-0-no-reader", Desc: "no iovecs into a pipe whose read end is closed: nothing to move, so 0 at once, no EPIPE and no SIGPIPE",
			Calls: "close(r); vmsplice(w, NULL, 0, 0) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(r)
				return sigpipeResult(func() (int, error) { return vmsplice(w, nil, 0) })
			},
		},
		{
			ID: "vmsplice/errors/bad-flags-no-iovecs", Desc: "an undefined flag bit with no iovecs: which check comes first",
			Calls: "vmsplice(w, NULL, 0, 0x100)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				return Result(vmsplice(w, nil, 0x100))
			},
		},
		{
			ID: "vmsplice/errors/no-iovecs-closed-fd", Desc: "no iovecs on a closed descriptor: which check comes first",
			Calls: "vmsplice(closed, NULL, 0, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				t.Close(w)
				return Result(vmsplice(w, nil, 0))
			},
		},
		{
			ID: "vmsplice/errors/iov-max-plus-1", Desc: "IOV_MAX+1 iovecs",
			Calls: "vmsplice(w, 1025 x 1 byte, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page)
				bufs := make([][]byte, 1025)
				for i := range bufs {
					bufs[i] = mem[:1]
				}
				return t.Blocking(func() (int, error) { return vmsplice(w, iov(bufs...), unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "vmsplice/errors/zero-length-iovec", Desc: "one iovec of length 0",
			Calls: "vmsplice(w, {p, 0}, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page)
				v := iov(mem)
				v[0].SetLen(0)
				return Result(vmsplice(w, v, 0))
			},
		},
		{
			ID: "vmsplice/errors/regular-file", Desc: "a regular file opened for writing instead of a pipe",
			Calls: "vmsplice(file, 4 KiB, 0)",
			Run: func(t *T) Observation {
				_, f := t.File("f", nil, unix.O_WRONLY)
				mem := t.Mmap(page)
				return Result(vmsplice(f, iov(mem), 0))
			},
		},
		{
			ID: "vmsplice/errors/read-only-file", Desc: "a regular file opened for reading instead of a pipe",
			Calls: "vmsplice(file(O_RDONLY), 4 KiB, 0)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(page, 92), unix.O_RDONLY)
				mem := t.Mmap(page)
				return Result(vmsplice(f, iov(mem), 0))
			},
		},
		{
			ID: "vmsplice/errors/closed-fd", Desc: "a closed descriptor",
			Calls: "close(w); vmsplice(w, 4 KiB, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				t.Close(w)
				mem := t.Mmap(page)
				return Result(vmsplice(w, iov(mem), 0))
			},
		},
		{
			ID: "vmsplice/errors/bad-flags", Desc: "an undefined flag bit",
			Calls: "vmsplice(w, 4 KiB, 0x100)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page)
				return Result(vmsplice(w, iov(mem), 0x100))
			},
		},
		{
			ID: "vmsplice/errors/read-end-with-data", Desc: "the pipe's read-only end given, with data queued: vmsplice reads",
			Calls: "write(w, 100); vmsplice(r, 4 KiB, 0)",
			Pins:  "vmsplice(2): direction follows the descriptor's access mode",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 12)))
				mem := t.Mmap(page)
				n, err := vmsplice(r, iov(mem), 0)
				return Seq(res(n, err), Intact(mem[:max(n, 0)], Pattern(100, 12)[:max(min(n, 100), 0)]).Value)
			},
		},
		{
			ID: "vmsplice/errors/no-access-mode", Desc: "a file opened with access mode 3 (O_ACCMODE: for ioctls only), neither readable nor writable but a real file",
			Calls: "open(file, 3); vmsplice(fd, 4 KiB, 0)",
			Run: func(t *T) Observation {
				p, _ := t.File("f", nil, unix.O_WRONLY)
				fd, err := unix.Open(p, unix.O_ACCMODE|unix.O_CLOEXEC, 0)
				Must(err)
				t.Track(fd)
				mem := t.Mmap(page)
				return Result(vmsplice(fd, iov(mem), 0))
			},
		},
		{
			ID: "vmsplice/errors/path-fd", Desc: "an O_PATH descriptor of a FIFO, neither readable nor writable",
			Calls: "open(fifo, O_PATH); vmsplice(fd, 4 KiB, 0)",
			Run: func(t *T) Observation {
				p := filepath.Join(t.Dir(), "fifo")
				Must(unix.Mkfifo(p, 0o600))
				fd, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
				Must(err)
				t.Track(fd)
				mem := t.Mmap(page)
				return Result(vmsplice(fd, iov(mem), 0))
			},
		},
		{
			ID: "vmsplice/errors/no-reader", Desc: "the read end is closed (SIGPIPE ignored)",
			Calls: "close(r); vmsplice(w, 4 KiB, 0)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(r)
				mem := t.Mmap(page)
				return Result(vmsplice(w, iov(mem), 0))
			},
		},
		{
			ID: "vmsplice/errors/packet-mode", Desc: "packet-mode pipe (O_DIRECT): two 100-byte vmsplices, then one large read",
			Calls: "pipe2(O_DIRECT); vmsplice x2; read(r, 4096)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(unix.O_DIRECT)
				mem := t.Mmap(page)
				n1, e1 := vmsplice(w, iov(mem[:100]), 0)
				n2, e2 := vmsplice(w, iov(mem[200:300]), 0)
				buf := make([]byte, page)
				n3, e3 := unix.Read(r, buf)
				return Seq(res(n1, e1), res(n2, e2), "read "+res(n3, e3))
			},
		},
		{
			ID: "vmsplice/errors/no-reader-sigpipe", Desc: "vmsplice into a pipe whose read end is closed: EPIPE and SIGPIPE to the caller",
			Calls: "close(r); vmsplice(w, 4 KiB, 0) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(r)
				mem := t.Mmap(page)
				return sigpipeResult(func() (int, error) { return vmsplice(w, iov(mem), 0) })
			},
		},
	}
}
