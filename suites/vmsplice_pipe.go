package suites

import (
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// vmsplicePipeCases are vmsplice(2) against the state of its pipe: short
// counts, full and empty pipes with and without SPLICE_F_NONBLOCK,
// resized pipes and wake-ups.
func vmsplicePipeCases() []*Case {
	return []*Case{
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
	}
}
