package suites

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func sendfileCases() []*Case {
	type sink struct {
		name string
		open func(t *T) (out int, read func(n int) []byte)
	}
	sinks := []sink{
		{"tcp", func(t *T) (int, func(int) []byte) {
			c, s := t.TCPPair()
			return c, func(n int) []byte { return readAll(s, n) }
		}},
		{"unix", func(t *T) (int, func(int) []byte) {
			a, b := t.SocketPair(unix.SOCK_STREAM)
			return a, func(n int) []byte { return readAll(b, n) }
		}},
		{"pipe", func(t *T) (int, func(int) []byte) {
			r, w := t.Pipe(0)
			return w, func(n int) []byte { return readAll(r, n) }
		}},
	}
	var cases []*Case
	for _, sk := range sinks {
		sk := sk
		cases = append(cases, &Case{
			ID:    "sendfile/integrity/to-" + sk.name,
			Desc:  "32 KiB from offset 1000 of a file sent to a " + sk.name,
			Calls: "sendfile(out, file, &1000, 32 KiB); read peer",
			Run: func(t *T) Observation {
				data := Pattern(40000, 41)
				_, f := t.File("f", data, unix.O_RDONLY)
				out, read := sk.open(t)
				off := int64(1000)
				total := 0
				for total < 32768 {
					n, err := unix.Sendfile(out, f, &off, 32768-total)
					if err != nil || n == 0 {
						return Result(n, err)
					}
					total += n
				}
				o := Intact(read(32768), data[1000:1000+32768])
				t.Check(o.Value == "intact", "sendfile to %s: %s", sk.name, o.Value)
				return o
			},
		})
	}
	cases = append(cases,
		&Case{
			ID: "sendfile/integrity/to-devnull", Desc: "a file sent to /dev/null",
			Calls: "sendfile(/dev/null, file, NULL, 8 KiB)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(8192, 42), unix.O_RDONLY)
				null, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return Skip("no /dev/null")
				}
				t.Track(null)
				return Result(unix.Sendfile(null, f, nil, 8192))
			},
		},
		&Case{
			ID: "sendfile/offset/pointer-updated-position-kept", Desc: "with an offset pointer: the pointer advances, the file position does not",
			Calls: "sendfile(pipe, file, &100, 1000); lseek(file, 0, SEEK_CUR)",
			Pins:  "sendfile(2): offset",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(4096, 43), unix.O_RDONLY)
				_, w := t.Pipe(0)
				off := int64(100)
				n, err := unix.Sendfile(w, f, &off, 1000)
				pos, _ := unix.Seek(f, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("offset", off), kv("position", pos))
			},
		},
		&Case{
			ID: "sendfile/offset/null-advances-position", Desc: "without an offset pointer the file position advances",
			Calls: "sendfile(pipe, file, NULL, 1000); lseek(file, 0, SEEK_CUR)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(4096, 44), unix.O_RDONLY)
				_, w := t.Pipe(0)
				n, err := unix.Sendfile(w, f, nil, 1000)
				pos, _ := unix.Seek(f, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("position", pos))
			},
		},
		&Case{
			ID: "sendfile/short-write/offset-follows-written", Desc: "a file sent to a file that takes only 1000 of 4096 bytes (RLIMIT_FSIZE): the count, the offset and the input's position say 1000",
			Calls: "setrlimit(FSIZE, 1000); sendfile(file, file, &0, 4096); lseek(in)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(page, 118), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				off := int64(0)
				n, err := withFileSizeLimit(1000, func() (int, error) { return unix.Sendfile(out, in, &off, page) })
				pos, _ := unix.Seek(in, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("offset", off), kv("position", pos))
			},
		},
		&Case{
			ID: "sendfile/short-write/position-follows-written", Desc: "without an offset, into a file that takes only 1000 of 4096 bytes (RLIMIT_FSIZE): the input's position moves by 1000",
			Calls: "setrlimit(FSIZE, 1000); sendfile(file, file, NULL, 4096); lseek(in)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(page, 119), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				n, err := withFileSizeLimit(1000, func() (int, error) { return unix.Sendfile(out, in, nil, page) })
				pos, _ := unix.Seek(in, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("position", pos))
			},
		},
		&Case{
			ID: "sendfile/errors/output-read-end", Desc: "a pipe's read end as the output, which is not open for writing",
			Calls: "sendfile(r, file, NULL, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 120), unix.O_RDONLY)
				r, _ := t.Pipe(0)
				n, err := unix.Sendfile(r, f, nil, 100)
				return Seq(res(n, err), kv("queued", pipeHolds(r)))
			},
		},
		&Case{
			ID: "sendfile/errors/output-read-only-file", Desc: "a regular file opened read-only as the output",
			Calls: "sendfile(file O_RDONLY, file, NULL, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 121), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_RDONLY)
				return Result(unix.Sendfile(out, f, nil, 100))
			},
		},
		&Case{
			ID: "sendfile/errors/input-write-only", Desc: "an input file opened write-only",
			Calls: "sendfile(pipe, file O_WRONLY, NULL, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 122), unix.O_WRONLY)
				_, w := t.Pipe(0)
				return Result(unix.Sendfile(w, f, nil, 100))
			},
		},
		&Case{
			ID: "sendfile/errors/ebadf", Desc: "a closed input descriptor",
			Calls: "sendfile(pipe, closed, NULL, 100)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", nil, unix.O_RDONLY)
				t.Close(f)
				return Result(unix.Sendfile(w, f, nil, 100))
			},
		},
		&Case{
			ID: "sendfile/errors/o-append-output", Desc: "output file opened O_APPEND",
			Calls: "sendfile(file(O_APPEND), file, NULL, 100)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 45), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY|unix.O_APPEND)
				return Result(unix.Sendfile(out, in, nil, 100))
			},
		},
		&Case{
			ID: "sendfile/errors/socket-input", Desc: "a socket as the input",
			Calls: "sendfile(pipe, socket, NULL, 100)",
			Run: func(t *T) Observation {
				a, b := t.SocketPair(unix.SOCK_STREAM)
				Must(writeAll(b, Pattern(100, 46)))
				_, w := t.Pipe(0)
				return t.Blocking(func() (int, error) { return unix.Sendfile(w, a, nil, 100) })
			},
		},
		&Case{
			ID: "sendfile/errors/socket-input-to-file", Desc: "a unix and a TCP socket as the input, a file as the output (the direct path, which needs an input it can seek): EINVAL each, and the file stays empty",
			Calls: "sendfile(file, unix socket, NULL, 5); sendfile(file, tcp socket, NULL, 5)",
			Run: func(t *T) Observation {
				a, b := t.SocketPair(unix.SOCK_STREAM)
				Must(writeAll(b, Pattern(5, 92)))
				c, s := t.TCPPair()
				Must(writeAll(c, Pattern(5, 93)))
				p, f := t.File("f", nil, unix.O_WRONLY)
				call := func(in int) string {
					n, err, blocked := t.Bounded(BlockBound, func() (int, error) { return unix.Sendfile(f, in, nil, 5) })
					if blocked {
						return "blocked"
					}
					return res(n, err)
				}
				return Seq(call(a), call(s), kv("file", len(readFile(p))))
			},
		},
		&Case{
			ID: "sendfile/errors/offset-on-pipe-input", Desc: "an offset for a pipe as the input, which has no positional read",
			Calls: "sendfile(file, r, &0, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 91)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				off := int64(0)
				return t.Blocking(func() (int, error) { return unix.Sendfile(f, r, &off, 100) })
			},
		},
		&Case{
			ID: "sendfile/errors/efault-offset", Desc: "an offset pointer to unmapped memory",
			Calls: "sendfile(pipe, file, (loff_t *)4096, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 53), unix.O_RDONLY)
				_, w := t.Pipe(0)
				n, _, e := unix.Syscall6(unix.SYS_SENDFILE, uintptr(w), uintptr(f), 4096, 100, 0, 0)
				if e != 0 {
					return Result(int(n), e)
				}
				return Result(int(n), nil)
			},
		},
		&Case{
			ID: "sendfile/errors/negative-offset", Desc: "a negative offset",
			Calls: "sendfile(pipe, file, &-1, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 47), unix.O_RDONLY)
				_, w := t.Pipe(0)
				off := int64(-1)
				return Result(unix.Sendfile(w, f, &off, 100))
			},
		},
		&Case{
			ID: "sendfile/len/zero", Desc: "a zero count",
			Calls: "sendfile(pipe, file, NULL, 0)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 48), unix.O_RDONLY)
				_, w := t.Pipe(0)
				return Result(unix.Sendfile(w, f, nil, 0))
			},
		},
		&Case{
			ID: "sendfile/len/huge-count", Desc: "a count far beyond the file's size, into a socket",
			Calls: "sendfile(unix socket, 8 KiB file, NULL, 1<<40)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(8192, 49), unix.O_RDONLY)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Blocking(func() (int, error) { return unix.Sendfile(a, f, nil, 1<<40) })
			},
		},
		&Case{
			ID: "sendfile/nonblock/full-dgram", Desc: "a full nonblocking AF_UNIX datagram socket",
			Calls: "fill socket; sendfile(dgram, file, NULL, 100)",
			Run: func(t *T) Observation {
				a, _ := t.SocketPair(unix.SOCK_DGRAM)
				Must(unix.SetNonblock(a, true))
				for i := 0; i < 10000; i++ {
					if _, err := unix.Write(a, make([]byte, 100)); err != nil {
						break
					}
				}
				_, f := t.File("f", Pattern(100, 50), unix.O_RDONLY)
				return t.Blocking(func() (int, error) { return unix.Sendfile(a, f, nil, 100) })
			},
		},
		&Case{
			ID: "sendfile/alias/unread-socket", Desc: "file sent to a TCP socket, the file rewritten before the receiver reads",
			Calls: "sendfile(tcp, file, NULL, 4 KiB); pwrite(file, B); recv",
			Pins:  "zero-copy transmit shares page-cache pages until sent",
			Run: func(t *T) Observation {
				a, b := Pattern(page, 51), Pattern(page, 52)
				_, f := t.File("f", a, unix.O_RDWR)
				c, s := t.TCPPair()
				if n, err := unix.Sendfile(c, f, nil, page); err != nil || n != page {
					return Result(n, err)
				}
				if _, err := unix.Pwrite(f, b, 0); err != nil {
					return Result(0, err)
				}
				o := Aliased(changed(readAll(s, page), a), page)
				o.Note = "timing-dependent: loopback may have copied before the rewrite"
				return o
			},
		},
	)
	return cases
}

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

func copyRangeCases() []*Case {
	return []*Case{
		{
			ID: "copy_file_range/integrity/basic", Desc: "100 KiB copied between files at offsets",
			Calls: "copy_file_range(in, &10, out, &20, 100 KiB)",
			Run: func(t *T) Observation {
				data := Pattern(110000, 71)
				_, in := t.File("in", data, unix.O_RDONLY)
				outPath, out := t.File("out", nil, unix.O_RDWR)
				inOff, outOff := int64(10), int64(20)
				total := 0
				for total < 102400 {
					n, err := unix.CopyFileRange(in, &inOff, out, &outOff, 102400-total, 0)
					if err != nil || n == 0 {
						return Result(n, err)
					}
					total += n
				}
				got := readFile(outPath)
				if len(got) < 20+102400 {
					return Observation{Type: TIntegrity, Value: fmt.Sprintf("length %d", len(got))}
				}
				o := Intact(got[20:20+102400], data[10:10+102400])
				t.Check(o.Value == "intact", "copy_file_range: %s", o.Value)
				return o
			},
		},
		{
			ID: "copy_file_range/errors/flags-one", Desc: "flags 1 (the kernel's internal COPY_FILE_SPLICE): EINVAL, no flag is defined",
			Calls: "copy_file_range(in, out, 5, 1)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(5, 42), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				return Result(unix.CopyFileRange(in, nil, out, nil, 5, 1))
			},
		},
		{
			ID: "copy_file_range/errors/ebadf", Desc: "a closed input descriptor",
			Calls: "copy_file_range(closed, out)",
			Run: func(t *T) Observation {
				_, in := t.File("in", nil, unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				t.Close(in)
				return Result(unix.CopyFileRange(in, nil, out, nil, 100, 0))
			},
		},
		{
			ID: "copy_file_range/errors/ebadf-out", Desc: "a closed output descriptor",
			Calls: "copy_file_range(in, closed)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 88), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				t.Close(out)
				return Result(unix.CopyFileRange(in, nil, out, nil, 100, 0))
			},
		},
		{
			ID: "copy_file_range/errors/immutable-output", Desc: "an output file made immutable after it was opened",
			Calls: "ioctl(out, FS_IOC_SETFLAGS, FS_IMMUTABLE_FL); copy_file_range(in, out)",
			Needs: []string{"CONFIG_TMPFS_XATTR"}, // tmpfs's inode flags
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 89), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				err := unix.IoctlSetPointerInt(out, unix.FS_IOC_SETFLAGS, fsImmutableFL)
				if err == unix.ENOTTY || err == unix.EOPNOTSUPP {
					return Skip("tmpfs sets no inode flags here (" + err.Error() + "): the kernel lacks CONFIG_TMPFS_XATTR")
				}
				Must(err)
				t.Cleanup(func() { unix.IoctlSetPointerInt(out, unix.FS_IOC_SETFLAGS, 0) })
				return Result(unix.CopyFileRange(in, nil, out, nil, 100, 0))
			},
		},
		{
			ID: "copy_file_range/errors/offset-wraps", Desc: "an input offset and length whose sum wraps",
			Calls: "copy_file_range(in, &1, out, NULL, SIZE_MAX)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 90), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				off := int64(1)
				return Result(unix.CopyFileRange(in, &off, out, nil, -1, 0))
			},
		},
		{
			ID: "copy_file_range/errors/overlap", Desc: "overlapping ranges of one file",
			Calls: "copy_file_range(f, &0, f, &10, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(1000, 72), unix.O_RDWR)
				a, b := int64(0), int64(10)
				return Result(unix.CopyFileRange(f, &a, f, &b, 100, 0))
			},
		},
		{
			ID: "copy_file_range/same-file/adjacent-ranges", Desc: "one file's first page copied to the page right after it: adjacent ranges do not overlap",
			Calls: "copy_file_range(f, &0, f, &4096, 4096)",
			Run: func(t *T) Observation {
				data := Pattern(2*page, 123)
				p, f := t.File("f", data, unix.O_RDWR)
				a, b := int64(0), int64(page)
				n, err := unix.CopyFileRange(f, &a, f, &b, page, 0)
				got := readFile(p)
				return Seq(res(n, err), kv("in", a), kv("out", b), Intact(got[page:], data[:page]).Value)
			},
		},
		{
			ID: "copy_file_range/offset/in-position-out-offset", Desc: "no input offset, an output offset: the input's position advances, the output's pointer does, the output's position does not",
			Calls: "copy_file_range(in, NULL, out, &8192, 100); lseek both",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(page, 124), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				off := int64(2 * page)
				n, err := unix.CopyFileRange(in, nil, out, &off, 100, 0)
				inPos, _ := unix.Seek(in, 0, unix.SEEK_CUR)
				outPos, _ := unix.Seek(out, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("in-position", inPos), kv("out-offset", off), kv("out-position", outPos))
			},
		},
		{
			ID: "copy_file_range/offset/in-offset-out-position", Desc: "an input offset, no output offset: the input's pointer advances, its position does not, the output's position does",
			Calls: "copy_file_range(in, &1000, out, NULL, 100); lseek both",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(page, 125), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				off := int64(1000)
				n, err := unix.CopyFileRange(in, &off, out, nil, 100, 0)
				inPos, _ := unix.Seek(in, 0, unix.SEEK_CUR)
				outPos, _ := unix.Seek(out, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("in-offset", off), kv("in-position", inPos), kv("out-position", outPos))
			},
		},
		{
			ID: "copy_file_range/offset/short-copy-positions", Desc: "a page asked of a 100-byte file, no offsets: 100 copied, and both positions advance by 100",
			Calls: "copy_file_range(in, NULL, out, NULL, 4 KiB); lseek both",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 131), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				n, err := unix.CopyFileRange(in, nil, out, nil, page, 0)
				inPos, _ := unix.Seek(in, 0, unix.SEEK_CUR)
				outPos, _ := unix.Seek(out, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("in-position", inPos), kv("out-position", outPos))
			},
		},
		{
			ID: "copy_file_range/offset/short-copy-offsets", Desc: "a page asked of a 100-byte file, both offsets given: 100 copied, both pointers advance by 100, neither position moves",
			Calls: "copy_file_range(in, &0, out, &0, 4 KiB); lseek both",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 132), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				var offIn, offOut int64
				n, err := unix.CopyFileRange(in, &offIn, out, &offOut, page, 0)
				inPos, _ := unix.Seek(in, 0, unix.SEEK_CUR)
				outPos, _ := unix.Seek(out, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("in-offset", offIn), kv("out-offset", offOut), kv("in-position", inPos), kv("out-position", outPos))
			},
		},
		{
			ID: "copy_file_range/errors/bad-flags", Desc: "nonzero flags",
			Calls: "copy_file_range(in, out, 100, 1)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 73), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				return Result(unix.CopyFileRange(in, nil, out, nil, 100, 1))
			},
		},
		&Case{
			ID: "copy_file_range/errors/cross-fs", Desc: "files on two tmpfs mounts (the case's folder and /dev/shm): another superblock, a filesystem without its own copy_file_range",
			Calls: "copy_file_range(in on tmpfs, out on /dev/shm, 100, 0)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 74), unix.O_RDONLY)
				var st, shm unix.Statfs_t
				Must(unix.Fstatfs(in, &st))
				if unix.Statfs("/dev/shm", &shm) != nil || shm.Fsid == st.Fsid {
					return Skip("/dev/shm is not a filesystem of its own here")
				}
				p := fmt.Sprintf("/dev/shm/patchtest-cfr-%d", os.Getpid())
				out, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o600)
				Must(err)
				t.Track(out)
				t.Cleanup(func() { os.Remove(p) })
				return Result(unix.CopyFileRange(in, nil, out, nil, 100, 0))
			},
		},
	}
}
