package suites

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// splicePipeCases are splices out of and into pipes: partial buffers,
// full and empty pipes with and without O_NONBLOCK, resized pipes,
// wake-ups and end of file.
func splicePipeCases() []*Case {
	return []*Case{
		{
			ID: "splice/nonblock/full-pipe", Desc: "a file spliced into a full O_NONBLOCK pipe",
			Calls: "fill pipe; splice(file, w, 4 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(unix.O_NONBLOCK)
				fillPipe(w)
				_, f := t.File("f", Pattern(page, 33), unix.O_RDONLY)
				return t.Blocking(func() (int, error) { return splice(f, nil, w, nil, page, unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "splice/nonblock/o-nonblock-empty-pipe-to-file", Desc: "an empty O_NONBLOCK pipe with a writer spliced into a file, flags 0: the pipe's O_NONBLOCK is SPLICE_F_NONBLOCK",
			Calls: "pipe2(O_NONBLOCK); splice(r, file, 100, 0)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(unix.O_NONBLOCK)
				_, f := t.File("f", nil, unix.O_WRONLY)
				return t.Blocking(func() (int, error) { return splice(r, nil, f, nil, 100, 0) })
			},
		},
		{
			ID: "splice/eof/no-writers-nonblock", Desc: "an empty pipe without writers spliced into a file non-blocking, by SPLICE_F_NONBLOCK and by the pipe's O_NONBLOCK: end of file (0) each time, not EAGAIN",
			Calls: "close(w); splice(r, file, 100, SPLICE_F_NONBLOCK); pipe2(O_NONBLOCK); close(w); splice(r, file, 100, 0)",
			Run: func(t *T) Observation {
				_, f := t.File("f", nil, unix.O_WRONLY)
				r1, w1 := t.Pipe(0)
				t.Close(w1)
				r2, w2 := t.Pipe(unix.O_NONBLOCK)
				t.Close(w2)
				return Seq(t.BoundedResult(func() (int, error) { return splice(r1, nil, f, nil, 100, unix.SPLICE_F_NONBLOCK) }),
					t.BoundedResult(func() (int, error) { return splice(r2, nil, f, nil, 100, 0) }))
			},
		},
		{
			ID: "splice/nonblock/o-nonblock-full-pipe-flags0", Desc: "a file spliced into a full O_NONBLOCK pipe, flags 0: the pipe's O_NONBLOCK is SPLICE_F_NONBLOCK",
			Calls: "fill pipe; splice(file, w, 4 KiB, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(unix.O_NONBLOCK)
				fillPipe(w)
				_, f := t.File("f", Pattern(page, 98), unix.O_RDONLY)
				return t.Blocking(func() (int, error) { return splice(f, nil, w, nil, page, 0) })
			},
		},
		{
			ID: "splice/wakeup/pipe-to-pipe-blocked-reader", Desc: "a reader asleep on the empty output pipe is woken by a splice from another pipe",
			Calls: "read(r2) blocks; splice(r1, w2, 100)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 105)))
				r2, w2 := t.Pipe(0)
				buf := make([]byte, 100)
				return t.Woken(func() (int, error) { return unix.Read(r2, buf) }, func() error {
					_, err := splice(r1, nil, w2, nil, 100, 0)
					return err
				})
			},
		},
		{
			ID: "splice/pipe-to-file/drains-buffer", Desc: "a page spliced from a pipe into a file uses its buffer up: the pipe is empty, not readable, and takes 64 KiB again",
			Calls: "write(w, 4 KiB); splice(r, file, 4 KiB); FIONREAD, poll(r); fill(w)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(page, 106)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				n, err := splice(r, nil, f, nil, page, 0)
				return Seq(res(n, err), kv("held", pipeHolds(r)), kv("readable", readable(r)), kv("room", fillPipe(w)))
			},
		},
		{
			ID: "splice/pipe-to-file/partial-buffer", Desc: "100 bytes of a page spliced from a pipe into a file: the rest stays, in order",
			Calls: "write(w, 4 KiB); splice(r, file, 100); read(r)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				data := Pattern(page, 107)
				Must(writeAll(w, data))
				p, f := t.File("f", nil, unix.O_WRONLY)
				n, err := splice(r, nil, f, nil, 100, 0)
				return Seq(res(n, err), Intact(readFile(p), data[:100]).Value, Intact(readAll(r, pipeHolds(r)), data[100:]).Value)
			},
		},
		{
			ID: "splice/pipe-to-pipe/partial-buffer-then-write", Desc: "4 of 10 bytes spliced from pipe A to pipe B, then 2 bytes written to B: A keeps its 6, B gets 4+2, neither writes into the other's page",
			Calls: "write(A, 10); splice(A, B, 4); write(B, 2); read both",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				r2, w2 := t.Pipe(0)
				Must(writeAll(w1, []byte("0123456789")))
				n, err := splice(r1, nil, w2, nil, 4, 0)
				Must(writeAll(w2, []byte("XY")))
				return Seq(res(n, err), kv("A", strconv.Quote(string(readAll(r1, pipeHolds(r1))))), kv("B", strconv.Quote(string(readAll(r2, pipeHolds(r2))))))
			},
		},
		{
			ID: "splice/pipe-to-file/pipe-grown-while-waiting", Desc: "a splice from an empty pipe into a file waits; the pipe is grown to 1 MiB (F_SETPIPE_SZ) and written: the splice wakes with the data",
			Calls: "splice(r, file, 1 MiB) blocks; fcntl(w, F_SETPIPE_SZ, 1 MiB); write(w, 4 KiB)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				_, f := t.File("f", nil, unix.O_WRONLY)
				return t.Woken(func() (int, error) { return splice(r, nil, f, nil, 1<<20, 0) }, func() error {
					if _, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 1<<20); err != nil {
						return err
					}
					return writeAll(w, Pattern(page, 126))
				})
			},
		},
		{
			ID: "splice/pipe-to-file/grown-pipe", Desc: "a pipe grown to 1 MiB and holding 256 KiB spliced into a file in one call",
			Calls: "fcntl(w, F_SETPIPE_SZ, 1 MiB); write(w, 256 KiB); splice(r, file, 256 KiB)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				if _, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 1<<20); err != nil {
					return Result(0, err)
				}
				data := Pattern(256<<10, 127)
				Must(writeAll(w, data))
				p, f := t.File("f", nil, unix.O_WRONLY)
				n, err := splice(r, nil, f, nil, len(data), 0)
				return Seq(res(n, err), Intact(readFile(p), data[:max(n, 0)]).Value)
			},
		},
		{
			ID: "splice/pipesize/rounds-up", Desc: "F_SETPIPE_SZ of sizes that are no power of two pages: each rounded up (100000 to 128 KiB, 4097 to 8 KiB), as F_GETPIPE_SZ then says",
			Calls: "fcntl(w, F_SETPIPE_SZ, 100000); fcntl(w, F_GETPIPE_SZ); fcntl(w, F_SETPIPE_SZ, 4097)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				a, errA := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 100000)
				g, errG := unix.FcntlInt(uintptr(w), unix.F_GETPIPE_SZ, 0)
				b, errB := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 4097)
				return Seq(Result(a, errA).Value, Result(g, errG).Value, Result(b, errB).Value)
			},
		},
		{
			ID: "splice/pipesize/shrink-to-held", Desc: "a pipe holding two pages spliced from a file shrunk to two pages (F_SETPIPE_SZ): it fits exactly, and the data stays",
			Calls: "splice(file, w, 8 KiB); fcntl(w, F_SETPIPE_SZ, 8 KiB); read(r)",
			Run:   func(t *T) Observation { return spliceThenShrink(t, 2, 128) },
		},
		{
			ID: "splice/pipesize/shrink-below-held", Desc: "a pipe holding three pages spliced from a file shrunk to two (F_SETPIPE_SZ): refused, the data stays",
			Calls: "splice(file, w, 12 KiB); fcntl(w, F_SETPIPE_SZ, 8 KiB); read(r)",
			Run:   func(t *T) Observation { return spliceThenShrink(t, 3, 129) },
		},
		{
			ID: "splice/pipe-to-pipe/full-output-nonblock", Desc: "a pipe spliced into a full pipe (with a reader) with SPLICE_F_NONBLOCK",
			Calls: "fill(w2); splice(r1, w2, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 134)))
				_, w2 := t.Pipe(0)
				fillPipe(w2)
				return t.Blocking(func() (int, error) { return splice(r1, nil, w2, nil, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "splice/pipe-to-pipe/full-output-no-reader-sigpipe", Desc: "a pipe spliced into a full pipe whose read end is closed: EPIPE and SIGPIPE",
			Calls: "fill(w2); close(r2); splice(r1, w2, 100) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 135)))
				r2, w2 := t.Pipe(0)
				fillPipe(w2)
				t.Close(r2)
				return sigpipeResult(func() (int, error) { return splice(r1, nil, w2, nil, 100, 0) })
			},
		},
		{
			ID: "splice/pipe-to-pipe/empty-input-nonblock", Desc: "an empty pipe with a writer spliced into another pipe with SPLICE_F_NONBLOCK",
			Calls: "splice(r1, w2, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r1, _ := t.Pipe(0)
				_, w2 := t.Pipe(0)
				return t.Blocking(func() (int, error) { return splice(r1, nil, w2, nil, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "splice/pipe-to-pipe/empty-input-no-writers", Desc: "an empty pipe without writers spliced into another pipe: end of file",
			Calls: "close(w1); splice(r1, w2, 100)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				t.Close(w1)
				_, w2 := t.Pipe(0)
				return t.Blocking(func() (int, error) { return splice(r1, nil, w2, nil, 100, 0) })
			},
		},
	}
}
