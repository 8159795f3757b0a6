package suites

import (
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

const page = 4096

// vmspliceOnePage vmsplices one page of pattern A into a fresh pipe,
// overwrites the page with pattern B, and returns the pipe and both
// patterns. What the reader then sees tells aliased from copied.
func vmspliceOnePage(t *T, flags int) (r, w int, a, b []byte, mem []byte) {
	r, w = t.Pipe(0)
	mem = t.Mmap(page)
	a, b = Pattern(page, 1), Pattern(page, 2)
	copy(mem, a)
	n, err := vmsplice(w, iov(mem), flags)
	if err != nil || n != page {
		panic(fatal{fmt.Errorf("vmsplice one page: %d %v", n, err)})
	}
	copy(mem, b)
	return r, w, a, b, mem
}

func vmspliceCases() []*Case {
	return []*Case{
		// Aliasing: is user memory still shared with the pipe after the call?
		{
			ID: "vmsplice/alias/read", Desc: "memory changed after vmsplice, then read() from the pipe",
			Calls: "vmsplice(w, page A); memcpy(page, B); read(r)",
			Pins:  "vmsplice(2): pages are mapped into the pipe, not copied",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, 0)
				return Aliased(changed(readAll(r, page), a), page)
			},
		},
		{
			ID: "vmsplice/alias/splice-to-file", Desc: "memory changed after vmsplice, then the pipe spliced into a file",
			Calls: "vmsplice(w, page A); memcpy(page, B); splice(r, file); read file",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, 0)
				p, f := t.File("out", nil, unix.O_RDWR)
				n, err := splice(r, nil, f, nil, page, 0)
				if err != nil || n != page {
					return Result(n, err)
				}
				return Aliased(changed(readFile(p), a), page)
			},
		},
		{
			ID: "vmsplice/alias/tee", Desc: "memory changed after vmsplice, then tee into a second pipe and read that",
			Calls: "vmsplice(w, page A); memcpy(page, B); tee(r, w2); read(r2)",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, 0)
				r2, w2 := t.Pipe(0)
				if n, err := tee(r, w2, page, 0); err != nil || n != page {
					return Result(n, err)
				}
				return Aliased(changed(readAll(r2, page), a), page)
			},
		},
		{
			ID: "vmsplice/alias/splice-to-unix-socket", Desc: "memory changed after vmsplice, then the pipe spliced into an AF_UNIX socket",
			Calls: "vmsplice(w, page A); memcpy(page, B); splice(r, sock); recv(peer)",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, 0)
				s1, s2 := t.SocketPair(unix.SOCK_STREAM)
				if n, err := splice(r, nil, s1, nil, page, 0); err != nil || n != page {
					return Result(n, err)
				}
				return Aliased(changed(readAll(s2, page), a), page)
			},
		},
		{
			ID: "vmsplice/alias/mmap-file-rewritten", Desc: "a page of an mmap'ed file vmspliced, then the file rewritten with pwrite",
			Calls: "mmap(file); vmsplice(w, mapping); pwrite(file, B); read(r)",
			Run: func(t *T) Observation {
				a, b := Pattern(page, 3), Pattern(page, 4)
				_, f := t.File("mapped", a, unix.O_RDWR)
				m, err := unix.Mmap(f, 0, page, unix.PROT_READ, unix.MAP_SHARED)
				Must(err)
				t.Cleanup(func() { unix.Munmap(m) })
				r, w := t.Pipe(0)
				if n, err := vmsplice(w, iov(m), 0); err != nil || n != page {
					return Result(n, err)
				}
				if _, err := unix.Pwrite(f, b, 0); err != nil {
					return Result(0, err)
				}
				return Aliased(changed(readAll(r, page), a), page)
			},
		},
		{
			ID: "vmsplice/gift/aligned", Desc: "SPLICE_F_GIFT with a page-aligned page, changed after the call",
			Calls: "vmsplice(w, page A, SPLICE_F_GIFT); memcpy(page, B); read(r)",
			Pins:  "vmsplice(2): SPLICE_F_GIFT",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, unix.SPLICE_F_GIFT)
				return Aliased(changed(readAll(r, page), a), page)
			},
		},
		{
			ID: "vmsplice/gift/unaligned", Desc: "SPLICE_F_GIFT with a buffer starting 100 bytes into a page",
			Calls: "vmsplice(w, mem+100 len 1000, SPLICE_F_GIFT); change; read(r)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				mem := t.Mmap(page)
				a := Pattern(1000, 5)
				copy(mem[100:], a)
				if n, err := vmsplice(w, iov(mem[100:1100]), unix.SPLICE_F_GIFT); err != nil || n != 1000 {
					return Result(n, err)
				}
				copy(mem[100:], Pattern(1000, 6))
				return Aliased(changed(readAll(r, 1000), a), 1000)
			},
		},

		// Short counts and blocking.
		{
			ID: "vmsplice/short/128k-into-64k-blocking", Desc: "128 KiB, page aligned, into an empty 64 KiB pipe with no reader, blocking",
			Calls: "vmsplice(w, 128 KiB, 0) with nobody reading",
			Pins:  "vmsplice(2) returns a short count when the pipe fills (LTP vmsplice01)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(128 << 10)
				return t.Blocking(func() (int, error) { return vmsplice(w, iov(mem), 0) })
			},
		},
		{
			ID: "vmsplice/short/128k-into-64k-nonblock", Desc: "128 KiB into an empty 64 KiB pipe with SPLICE_F_NONBLOCK",
			Calls: "vmsplice(w, 128 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(128 << 10)
				n, err, blocked := t.Bounded(BlockBound, func() (int, error) { return vmsplice(w, iov(mem), unix.SPLICE_F_NONBLOCK) })
				if blocked {
					return Observation{Type: TBlocking, Value: "blocked"}
				}
				return Result(n, err)
			},
		},
		{
			ID: "vmsplice/short/64k-at-offset-100", Desc: "64 KiB starting 100 bytes into a page, into an empty pipe with no reader",
			Calls: "vmsplice(w, mem+100 len 64 KiB, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(80 << 10)
				return t.Blocking(func() (int, error) { return vmsplice(w, iov(mem[100:100+65536]), 0) })
			},
		},
		{
			ID: "vmsplice/short/17-one-byte-iovecs-then-nonblock", Desc: "17 one-byte iovecs, then a nonblocking 4 KiB vmsplice",
			Calls: "vmsplice(w, 17 x 1 byte, 0); vmsplice(w, 4 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page * 2)
				var bufs [][]byte
				for i := 0; i < 17; i++ {
					bufs = append(bufs, mem[i*64:i*64+1])
				}
				first := t.Blocking(func() (int, error) { return vmsplice(w, iov(bufs...), 0) })
				n, err := vmsplice(w, iov(mem[page:]), unix.SPLICE_F_NONBLOCK)
				return Seq(first.Value, res(n, err))
			},
		},
		{
			ID: "vmsplice/count/one-byte-fill", Desc: "how many 1-byte nonblocking vmsplices fit into an empty pipe",
			Calls:   "loop vmsplice(w, 1 byte, SPLICE_F_NONBLOCK) until it fails",
			Pins:    "one pipe buffer per vmsplice (16 slots) vs merged bytes (64 KiB)",
			Timeout: 30 * time.Second,
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page)
				n := 0
				for ; n < 1<<17; n++ {
					if _, err := vmsplice(w, iov(mem[:1]), unix.SPLICE_F_NONBLOCK); err != nil {
						return Seq(fmt.Sprint(n), ErrnoName(err))
					}
				}
				return Seq(fmt.Sprint(n), "no failure")
			},
		},

		// Nonblocking behaviour.
		{
			ID: "vmsplice/nonblock/o-nonblock-full-flags0", Desc: "full O_NONBLOCK pipe, flags 0",
			Calls: "pipe2(O_NONBLOCK); fill; vmsplice(w, 4 KiB, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(unix.O_NONBLOCK)
				fillPipe(w)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(w, iov(mem), 0) })
			},
		},
		{
			ID: "vmsplice/nonblock/flag-full", Desc: "full blocking pipe, flags == SPLICE_F_NONBLOCK",
			Calls: "pipe2(0); fill; vmsplice(w, 4 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				fillPipe(w)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(w, iov(mem), unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "vmsplice/nonblock/flag-empty", Desc: "empty blocking pipe, flags == SPLICE_F_NONBLOCK",
			Calls: "pipe2(0); vmsplice(w, 4 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(w, iov(mem), unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "vmsplice/nonblock/fifo", Desc: "named FIFO opened read-write, SPLICE_F_NONBLOCK",
			Calls: "mkfifo; open(O_RDWR); vmsplice(fd, 4 KiB, SPLICE_F_NONBLOCK)",
			Pins:  "CRIU's FIFO path (EOPNOTSUPP with RWF_NOWAIT)",
			Run: func(t *T) Observation {
				p := filepath.Join(t.Dir(), "fifo")
				Must(unix.Mkfifo(p, 0o600))
				fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
				Must(err)
				t.Track(fd)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(fd, iov(mem), unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "vmsplice/nonblock/pwritev2-nowait-after-vmsplice", Desc: "pwritev2(RWF_NOWAIT) on a pipe that vmsplice wrote to",
			Calls: "vmsplice(w, 4 KiB, 0); pwritev2(w, 4 KiB, -1, RWF_NOWAIT)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page)
				if n, err := vmsplice(w, iov(mem), 0); err != nil {
					return Result(n, err)
				}
				return Result(unix.Pwritev2(w, [][]byte{make([]byte, page)}, -1, unix.RWF_NOWAIT))
			},
		},
		{
			ID: "vmsplice/nonblock/pwritev2-nowait-after-splice", Desc: "pwritev2(RWF_NOWAIT) on a pipe that splice wrote to",
			Calls: "splice(file, w, 4 KiB); pwritev2(w, 4 KiB, -1, RWF_NOWAIT)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("in", Pattern(page, 7), unix.O_RDONLY)
				if n, err := splice(f, nil, w, nil, page, 0); err != nil {
					return Result(n, err)
				}
				return Result(unix.Pwritev2(w, [][]byte{make([]byte, page)}, -1, unix.RWF_NOWAIT))
			},
		},
		{
			ID: "vmsplice/nonblock/vmsplice-nonblock-after-splice", Desc: "SPLICE_F_NONBLOCK vmsplice on a pipe that splice wrote to",
			Calls: "splice(file, w, 4 KiB); vmsplice(w, 4 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("in", Pattern(page, 7), unix.O_RDONLY)
				if n, err := splice(f, nil, w, nil, page, 0); err != nil {
					return Result(n, err)
				}
				mem := t.Mmap(page)
				return Result(vmsplice(w, iov(mem), unix.SPLICE_F_NONBLOCK))
			},
		},

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
			ID: "vmsplice/nonblock/zero-length-full-pipe", Desc: "a zero-length iovec into a full pipe: 0 at once, with SPLICE_F_NONBLOCK and without (nothing to wait for)",
			Calls: "F_SETPIPE_SZ 4096; write(w, 4096); vmsplice(w, {p, 0}, SPLICE_F_NONBLOCK); vmsplice(w, {p, 0}, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				if _, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, page); err != nil {
					return Result(0, err)
				}
				Must(writeAll(w, Pattern(page, 58)))
				mem := t.Mmap(page)
				v := iov(mem)
				v[0].SetLen(0)
				n, err := vmsplice(w, v, unix.SPLICE_F_NONBLOCK)
				return Seq(res(n, err), "flags 0: "+t.BoundedResult(func() (int, error) { return vmsplice(w, v, 0) }))
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
			ID: "vmsplice/wakeup/blocked-reader", Desc: "a reader asleep on an empty pipe is woken by a vmsplice into it",
			Calls: "read(r) blocks; vmsplice(w, 100 bytes)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				mem := t.Mmap(page)
				copy(mem, Pattern(100, 103))
				buf := make([]byte, 100)
				return t.Woken(func() (int, error) { return unix.Read(r, buf) }, func() error {
					_, err := vmsplice(w, iov(mem[:100]), 0)
					return err
				})
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
			ID: "vmsplice/accounting/proc-io", Desc: "/proc/self/io wchar and syscw after a 4 KiB vmsplice",
			Needs: []string{"CONFIG_TASK_IO_ACCOUNTING"},
			Calls: "read /proc/self/io; vmsplice(w, 4 KiB); read /proc/self/io",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page)
				before := procIO()
				if before == nil {
					return Skip("no /proc/self/io (CONFIG_TASK_IO_ACCOUNTING)")
				}
				n, err := vmsplice(w, iov(mem), 0)
				after := procIO()
				return Seq(res(n, err), kv("wchar_delta", after["wchar"]-before["wchar"]), kv("syscw_delta", after["syscw"]-before["syscw"]))
			},
		},
		{
			ID: "vmsplice/pipesize/4k", Desc: "pipe shrunk to 4 KiB, 8 KiB vmspliced with SPLICE_F_NONBLOCK",
			Calls: "fcntl(F_SETPIPE_SZ, 4096); vmsplice(w, 8 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				sz, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, page)
				mem := t.Mmap(2 * page)
				n, verr := vmsplice(w, iov(mem), unix.SPLICE_F_NONBLOCK)
				return Seq(res(sz, err), res(n, verr))
			},
		},
		{
			ID: "vmsplice/pipesize/1m", Desc: "pipe grown to 1 MiB, 1 MiB vmspliced with SPLICE_F_NONBLOCK",
			Calls: "fcntl(F_SETPIPE_SZ, 1 MiB); vmsplice(w, 1 MiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				sz, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 1<<20)
				mem := t.Mmap(1 << 20)
				n, verr := vmsplice(w, iov(mem), unix.SPLICE_F_NONBLOCK)
				return Seq(res(sz, err), res(n, verr))
			},
		},
		{
			ID: "vmsplice/pipesize/shrink-to-held", Desc: "a pipe holding two vmspliced pages shrunk to two pages (F_SETPIPE_SZ): it fits exactly",
			Calls: "vmsplice(w, 8 KiB); fcntl(w, F_SETPIPE_SZ, 8 KiB); read(r)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				mem := t.Mmap(2 * page)
				data := Pattern(2*page, 130)
				copy(mem, data)
				n, err := vmsplice(w, iov(mem), 0)
				sz, serr := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 2*page)
				return Seq(res(n, err), res(sz, serr), Intact(readAll(r, pipeHolds(r)), data[:max(n, 0)]).Value)
			},
		},

		// The read side: vmsplice from a pipe into user memory.
		{
			ID: "vmsplice/read/integrity-shapes", Desc: "data read by vmsplice into poisoned buffers of many iovec shapes",
			Calls: "write(w, pattern); vmsplice(r, iovecs); compare, check poison",
			Run: func(t *T) Observation {
				shapes := [][]int{{1}, {7, 9}, {4096}, {4097}, {100, 4000, 3}, {1, 1, 1, 1, 4092}, {65536}}
				for _, shape := range shapes {
					r, w := t.Pipe(0)
					total := 0
					for _, s := range shape {
						total += s
					}
					want := Pattern(total, 9)
					Must(writeAll(w, want))
					mem := t.Mmap(total + 2*page)
					Poison(mem)
					var bufs [][]byte
					off := 100
					for _, s := range shape {
						bufs = append(bufs, mem[off:off+s])
						off += s + 13 // gaps that must stay poisoned
					}
					n, err := vmsplice(r, iov(bufs...), 0)
					if err != nil || n != total {
						return Result(n, err)
					}
					var got []byte
					for _, b := range bufs {
						got = append(got, b...)
					}
					if o := Intact(got, want); o.Value != "intact" {
						t.Check(false, "shape %v: %s", shape, o.Value)
						return o
					}
					for i := 0; i < 100; i++ {
						t.Check(mem[i] == 0xA5, "shape %v: byte %d before the buffers overwritten", shape, i)
					}
				}
				return Intact(nil, nil)
			},
		},
		{
			ID: "vmsplice/read/partial-buffer", Desc: "vmsplice reads 100 bytes of a page from a pipe: what it returns, what lands, what stays poisoned, what is left",
			Calls: "write(w, 4 KiB); vmsplice(r, {buf, 100}, 0); FIONREAD",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				data := Pattern(page, 34)
				Must(writeAll(w, data))
				mem := t.Mmap(2 * page)
				Poison(mem)
				n, err := vmsplice(r, iov(mem[:100]), 0)
				poisoned := "poison kept"
				for i := 100; i < len(mem); i++ {
					if mem[i] != 0xA5 {
						poisoned = fmt.Sprintf("byte %d past the buffer overwritten", i)
						break
					}
				}
				return Seq(res(n, err), Intact(mem[:100], data[:100]).Value, poisoned, kv("left", pipeHolds(r)),
					Intact(readAll(r, pipeHolds(r)), data[100:]).Value)
			},
		},
		{
			ID: "vmsplice/read/empty-o-nonblock", Desc: "empty O_NONBLOCK pipe read with flags 0",
			Calls: "pipe2(O_NONBLOCK); vmsplice(r, 4 KiB, 0)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(unix.O_NONBLOCK)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(r, iov(mem), 0) })
			},
		},
		{
			ID: "vmsplice/read/empty-flag-nonblock", Desc: "empty blocking pipe read with SPLICE_F_NONBLOCK",
			Calls: "pipe2(0); vmsplice(r, 4 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(0)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(r, iov(mem), unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "vmsplice/read/empty-blocking", Desc: "empty blocking pipe read with flags 0",
			Calls: "pipe2(0); vmsplice(r, 4 KiB, 0)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(0)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(r, iov(mem), 0) })
			},
		},
		{
			ID: "vmsplice/read/no-writers", Desc: "empty pipe whose write end is closed",
			Calls: "close(w); vmsplice(r, 4 KiB, 0)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(w)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(r, iov(mem), 0) })
			},
		},
		{
			ID: "vmsplice/read/efault", Desc: "read into an unmapped address with data in the pipe: result and bytes left",
			Calls: "write(w, 4 KiB); vmsplice(r, {bad, 4 KiB}, 0); FIONREAD",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(page, 11)))
				n, err := vmspliceBad(r, page, 0)
				return Seq(res(n, err), kv("left", fionread(r)))
			},
		},
		{
			ID: "vmsplice/write/efault", Desc: "vmsplice from an unmapped address into a pipe: result and bytes queued",
			Calls: "vmsplice(w, {bad, 4 KiB}, 0); FIONREAD",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				n, err := vmspliceBad(w, page, 0)
				return Seq(res(n, err), kv("queued", fionread(r)))
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
