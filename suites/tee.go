package suites

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// teeCases are tee(2)'s: duplicating a pipe's data into another pipe
// without consuming it, its errors, blocking and wake-ups.
func teeCases() []*Case {
	return []*Case{
		{
			ID: "tee/data/equal", Desc: "tee duplicates the pipe's data into a second pipe",
			Calls: "write(w1, 10 KiB); tee(r1, w2); read both",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				r2, w2 := t.Pipe(0)
				data := Pattern(10240, 61)
				Must(writeAll(w1, data))
				n, err := tee(r1, w2, len(data), 0)
				if err != nil {
					return Result(n, err)
				}
				got2 := readAll(r2, n)
				got1 := readAll(r1, len(data))
				t.Check(eq(got1, data), "tee consumed or changed the source")
				return Seq(res(n, err), Intact(got2, data[:n]).Value)
			},
		},
		{
			ID: "tee/data/does-not-consume", Desc: "FIONREAD of the source before and after tee",
			Calls: "write(w1, 5000); FIONREAD; tee; FIONREAD",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				_, w2 := t.Pipe(0)
				Must(writeAll(w1, Pattern(5000, 62)))
				before := fionread(r1)
				n, err := tee(r1, w2, 5000, 0)
				return Seq(kv("before", before), res(n, err), kv("after", fionread(r1)))
			},
		},
		{
			ID: "tee/nonblock/empty", Desc: "tee from an empty pipe with SPLICE_F_NONBLOCK",
			Calls: "tee(r1, w2, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r1, _ := t.Pipe(0)
				_, w2 := t.Pipe(0)
				return t.Blocking(func() (int, error) { return tee(r1, w2, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "tee/eof/no-writers", Desc: "tee from an empty pipe without writers",
			Calls: "close(w1); tee(r1, w2, 100, 0)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				_, w2 := t.Pipe(0)
				t.Close(w1)
				return t.Blocking(func() (int, error) { return tee(r1, w2, 100, 0) })
			},
		},
		{
			ID: "tee/eof/no-writers-nonblock", Desc: "tee from an empty pipe without writers, with SPLICE_F_NONBLOCK: end of file (0), not EAGAIN",
			Calls: "close(w1); tee(r1, w2, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				_, w2 := t.Pipe(0)
				t.Close(w1)
				return t.Blocking(func() (int, error) { return tee(r1, w2, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "tee/errors/output-read-end", Desc: "tee into the read end of a second pipe",
			Calls: "write(w1, 5); tee(r1, r2, 5, 0)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				r2, _ := t.Pipe(0)
				Must(writeAll(w1, Pattern(5, 41)))
				return t.Blocking(func() (int, error) { return tee(r1, r2, 5, 0) })
			},
		},
		{
			ID: "tee/errors/same-pipe", Desc: "tee from a pipe into itself",
			Calls: "tee(r, w) on one pipe",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 63)))
				return Result(tee(r, w, 100, 0))
			},
		},
		{
			ID: "tee/io_uring/equal", Desc: "IORING_OP_TEE duplicates the pipe's data into a second pipe",
			Calls: "write(w1, 4 KiB); io_uring tee(r1, w2); read both", Needs: []string{"CONFIG_IO_URING"},
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				r2, w2 := t.Pipe(0)
				data := Pattern(4096, 97)
				Must(writeAll(w1, data))
				n, err := t.uring(uringSpliceOp{Op: uringOpTee, In: r1, Out: w2, Len: uint32(len(data))})
				if err != nil {
					return Result(n, err)
				}
				got2 := readAll(r2, n)
				t.Check(eq(readAll(r1, len(data)), data), "tee consumed or changed the source")
				return Seq(res(n, err), Intact(got2, data[:n]).Value)
			},
		},
		{
			ID: "tee/wakeup/blocked-reader", Desc: "a reader asleep on the empty output pipe is woken by a tee into it",
			Calls: "read(r2) blocks; tee(r1, w2, 100)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 104)))
				r2, w2 := t.Pipe(0)
				buf := make([]byte, 100)
				return t.Woken(func() (int, error) { return unix.Read(r2, buf) }, func() error {
					_, err := tee(r1, w2, 100, 0)
					return err
				})
			},
		},
		{
			ID: "tee/nonblock/o-nonblock-empty-flags0", Desc: "tee from an empty O_NONBLOCK pipe with a writer, flags 0: the pipe's O_NONBLOCK is SPLICE_F_NONBLOCK",
			Calls: "pipe2(O_NONBLOCK); tee(r1, w2, 100, 0)",
			Run: func(t *T) Observation {
				r1, _ := t.Pipe(unix.O_NONBLOCK)
				_, w2 := t.Pipe(0)
				return t.Blocking(func() (int, error) { return tee(r1, w2, 100, 0) })
			},
		},
		{
			ID: "tee/errors/bad-flags", Desc: "an undefined flag bit",
			Calls: "tee(r, w2, 100, 0x100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 85)))
				_, w2 := t.Pipe(0)
				return Result(tee(r, w2, 100, 0x100))
			},
		},
		{
			ID: "tee/errors/bad-flags-zero-len", Desc: "an undefined flag bit with a zero length: which check comes first",
			Calls: "tee(r, w2, 0, 0x100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 88)))
				_, w2 := t.Pipe(0)
				return Result(tee(r, w2, 0, 0x100))
			},
		},
		{
			ID: "tee/len/zero-closed-fds", Desc: "a zero length on closed descriptors: which check comes first",
			Calls: "tee(closed, closed, 0, 0)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(r)
				t.Close(w)
				return Result(tee(r, w, 0, 0))
			},
		},
		{
			ID: "tee/errors/write-end-input", Desc: "tee from a pipe's write end",
			Calls: "tee(w, w2, 100, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 86)))
				_, w2 := t.Pipe(0)
				return Result(tee(w, w2, 100, 0))
			},
		},
		{
			ID: "tee/len/zero", Desc: "a zero length: nothing is duplicated",
			Calls: "tee(r, w2, 0, 0); FIONREAD(r2)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 87)))
				r2, w2 := t.Pipe(0)
				n, err := tee(r, w2, 0, 0)
				return Seq(res(n, err), kv("holds", pipeHolds(r2)))
			},
		},
		{
			ID: "tee/errors/not-a-pipe", Desc: "tee from a regular file",
			Calls: "tee(file, w, 100, 0)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 64), unix.O_RDONLY)
				_, w := t.Pipe(0)
				return Result(tee(f, w, 100, 0))
			},
		},
		{
			ID: "tee/len/partial-buffer", Desc: "tee of 100 bytes from a pipe holding a page: 100 duplicated, the source untouched",
			Calls: "write(w1, 4 KiB); tee(r1, w2, 100); FIONREAD both; read both",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				r2, w2 := t.Pipe(0)
				data := Pattern(page, 114)
				Must(writeAll(w1, data))
				n, err := tee(r1, w2, 100, 0)
				return Seq(res(n, err), kv("held", pipeHolds(r2)), kv("source", pipeHolds(r1)),
					Intact(readAll(r2, pipeHolds(r2)), data[:100]).Value, Intact(readAll(r1, pipeHolds(r1)), data).Value)
			},
		},
		{
			ID: "tee/data/partial-buffer-then-write", Desc: "4 of 10 bytes teed from pipe A to pipe B, then 2 bytes written to B: A keeps its 10, B gets 4+2, neither writes into the other's page",
			Calls: "write(A, 10); tee(A, B, 4); write(B, 2); read both",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				r2, w2 := t.Pipe(0)
				Must(writeAll(w1, []byte("0123456789")))
				n, err := tee(r1, w2, 4, 0)
				Must(writeAll(w2, []byte("XY")))
				return Seq(res(n, err), kv("A", strconv.Quote(string(readAll(r1, pipeHolds(r1))))), kv("B", strconv.Quote(string(readAll(r2, pipeHolds(r2))))))
			},
		},
		{
			ID: "tee/data/source-page-reused", Desc: "a page teed from pipe A to pipe B, A read, then new data written to A: B still holds the first data",
			Calls: "write(A, X); tee(A, B, 4 KiB); read(A); write(A, Y); read(B)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				r2, w2 := t.Pipe(0)
				x, y := Pattern(page, 115), Pattern(page, 116)
				Must(writeAll(w1, x))
				if n, err := tee(r1, w2, page, 0); err != nil || n != page {
					return Result(n, err)
				}
				readAll(r1, pipeHolds(r1))
				Must(writeAll(w1, y))
				return Seq(Intact(readAll(r2, pipeHolds(r2)), x).Value, Intact(readAll(r1, pipeHolds(r1)), y).Value)
			},
		},
		{
			ID: "tee/nonblock/full-output", Desc: "tee into a full pipe (with a reader) with SPLICE_F_NONBLOCK",
			Calls: "fill(w2); tee(r1, w2, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 136)))
				_, w2 := t.Pipe(0)
				fillPipe(w2)
				return t.Blocking(func() (int, error) { return tee(r1, w2, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "tee/errors/full-output-no-reader-sigpipe", Desc: "tee into a full pipe whose read end is closed: EPIPE and SIGPIPE",
			Calls: "fill(w2); close(r2); tee(r1, w2, 100) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 137)))
				r2, w2 := t.Pipe(0)
				fillPipe(w2)
				t.Close(r2)
				return sigpipeResult(func() (int, error) { return tee(r1, w2, 100, 0) })
			},
		},
		{
			ID: "tee/errors/no-reader-sigpipe", Desc: "tee into a pipe whose read end is closed: EPIPE and SIGPIPE to the caller",
			Calls: "close(r2); tee(r1, w2, 100) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 117)))
				r2, w2 := t.Pipe(0)
				t.Close(r2)
				return sigpipeResult(func() (int, error) { return tee(r1, w2, 100, 0) })
			},
		},
	}
}
