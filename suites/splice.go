package suites

import (
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

// spliceFilePipeFile moves size bytes from offset off of a file through a
// pipe into a second file and reports whether they arrived intact.
func spliceFilePipeFile(t *T, size, off int) Observation {
	data := Pattern(size+off, 21)
	_, in := t.File("in", data, unix.O_RDONLY)
	outPath, out := t.File("out", nil, unix.O_WRONLY)
	r, w := t.Pipe(0)
	inOff := int64(off)
	moved := 0
	for moved < size {
		n, err := splice(in, &inOff, w, nil, min(size-moved, 65536), 0)
		if err != nil || n == 0 {
			return Result(n, err)
		}
		for left := n; left > 0; {
			m, err := splice(r, nil, out, nil, left, 0)
			if err != nil || m == 0 {
				return Result(m, err)
			}
			left -= m
		}
		moved += n
	}
	got := readFile(outPath)
	o := Intact(got, data[off:])
	t.Check(o.Value == "intact", "file→pipe→file %d bytes at %d: %s", size, off, o.Value)
	return o
}

func spliceCases() []*Case {
	var cases []*Case
	for _, c := range []struct{ size, off int }{{1, 0}, {4095, 1}, {4096, 0}, {65536 + 13, 4096 + 7}, {1 << 20, 0}} {
		c := c
		cases = append(cases, &Case{
			ID:    fmt.Sprintf("splice/integrity/file-pipe-file-%d-at-%d", c.size, c.off),
			Desc:  fmt.Sprintf("%d bytes from offset %d of a file, through a pipe, into a file", c.size, c.off),
			Calls: "splice(file, &off, w); splice(r, out)",
			Run:   func(t *T) Observation { return spliceFilePipeFile(t, c.size, c.off) },
		})
	}
	cases = append(cases,
		&Case{
			ID: "splice/integrity/pipe-pipe-socket", Desc: "64 KiB written to a pipe, spliced to a second pipe, then to a TCP socket",
			Calls: "write(w1); splice(r1, w2); splice(r2, tcp); recv",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				r2, w2 := t.Pipe(0)
				c, s := t.TCPPair()
				data := Pattern(65536, 22)
				go writeAll(w1, data)
				total := 0
				for total < len(data) {
					n, err := splice(r1, nil, w2, nil, len(data)-total, 0)
					if err != nil || n == 0 {
						return Result(n, err)
					}
					for left := n; left > 0; {
						m, err := splice(r2, nil, c, nil, left, 0)
						if err != nil {
							return Result(m, err)
						}
						left -= m
					}
					total += n
				}
				o := Intact(readAll(s, len(data)), data)
				t.Check(o.Value == "intact", "pipe→pipe→socket: %s", o.Value)
				return o
			},
		},
		&Case{
			ID: "splice/alias/page-cache", Desc: "file spliced into a pipe, the file then rewritten, the pipe read",
			Calls: "splice(file, w, 4 KiB); pwrite(file, B); read(r)",
			Pins:  "splice shares page-cache pages with the pipe",
			Run: func(t *T) Observation {
				a, b := Pattern(page, 23), Pattern(page, 24)
				_, f := t.File("f", a, unix.O_RDWR)
				r, w := t.Pipe(0)
				if n, err := splice(f, nil, w, nil, page, 0); err != nil || n != page {
					return Result(n, err)
				}
				if _, err := unix.Pwrite(f, b, 0); err != nil {
					return Result(0, err)
				}
				return Aliased(changed(readAll(r, page), a), page)
			},
		},
		&Case{
			ID: "splice/errors/ebadf", Desc: "a closed input descriptor",
			Calls: "splice(closed, w)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				r2, _ := t.Pipe(0)
				t.Close(r2)
				return Result(splice(r2, nil, w, nil, page, 0))
			},
		},
		&Case{
			ID: "splice/errors/o-append-output", Desc: "a pipe spliced into a file opened O_APPEND",
			Calls: "splice(r, file(O_APPEND))",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 25)))
				_, f := t.File("f", nil, unix.O_WRONLY|unix.O_APPEND)
				return Result(splice(r, nil, f, nil, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/same-pipe", Desc: "both ends of the same pipe",
			Calls: "splice(r, w) on one pipe",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 26)))
				return Result(splice(r, nil, w, nil, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/offset-on-pipe", Desc: "an offset given for the pipe side",
			Calls: "splice(r, &off, file)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 27)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				off := int64(0)
				return Result(splice(r, &off, f, nil, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/efault-off-out", Desc: "an output offset pointer to unmapped memory",
			Calls: "splice(r, NULL, file, (loff_t *)4096, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 31)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				return Result(spliceRaw(r, 0, f, 4096, 100, 0))
			},
		},
		&Case{
			ID: "splice/offsets/off-in-read-only", Desc: "the input offset in read-only memory: it is read, the data moves, writing it back fails",
			Calls: "splice(file, &off (PROT_READ), w, NULL, 100); read(r)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				_, f := t.File("f", Pattern(100, 32), unix.O_RDONLY)
				off := t.readOnlyOffset(0)
				n, err := spliceRaw(f, off, w, 0, 100, 0)
				return Seq(resultValue(n, err), fmt.Sprintf("pipe holds %d", pipeHolds(r)))
			},
		},
		&Case{
			ID: "splice/offsets/off-out-read-only", Desc: "the output offset in read-only memory: it is read, the data moves, writing it back fails",
			Calls: "splice(r, NULL, file, &off (PROT_READ), 100); fstat(file)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 33)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				off := t.readOnlyOffset(0)
				n, err := spliceRaw(r, 0, f, off, 100, 0)
				var st unix.Stat_t
				Must(unix.Fstat(f, &st))
				return Seq(resultValue(n, err), fmt.Sprintf("file holds %d", st.Size))
			},
		},
		&Case{
			ID: "splice/errors/offset-on-socket-output", Desc: "an output offset for an AF_UNIX socket, which has no positional write",
			Calls: "splice(r, NULL, unix socket, &0, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 34)))
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				off := int64(0)
				return Result(splice(r, nil, a, &off, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/offset-on-pipe-output", Desc: "an output offset for a pipe",
			Calls: "splice(file, NULL, w, &0, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 80), unix.O_RDONLY)
				_, w := t.Pipe(0)
				off := int64(0)
				return Result(splice(f, nil, w, &off, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/efault-off-in", Desc: "an input offset pointer to unmapped memory",
			Calls: "splice(file, (loff_t *)4096, w, NULL, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 81), unix.O_RDONLY)
				_, w := t.Pipe(0)
				return Result(spliceRaw(f, 4096, w, 0, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/write-only-input", Desc: "an input file opened O_WRONLY",
			Calls: "splice(file(O_WRONLY), w, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 82), unix.O_WRONLY)
				_, w := t.Pipe(0)
				return Result(splice(f, nil, w, nil, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/read-only-output", Desc: "an output file opened O_RDONLY",
			Calls: "splice(r, file(O_RDONLY), 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 83)))
				_, f := t.File("f", nil, unix.O_RDONLY)
				return Result(splice(r, nil, f, nil, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/offset-on-socket-input", Desc: "an input offset for an AF_UNIX socket, which has no positional read",
			Calls: "splice(unix socket, &0, w, NULL, 100)",
			Run: func(t *T) Observation {
				a, b := t.SocketPair(unix.SOCK_STREAM)
				Must(writeAll(b, Pattern(100, 84)))
				_, w := t.Pipe(0)
				off := int64(0)
				return Result(splice(a, &off, w, nil, 100, unix.SPLICE_F_NONBLOCK))
			},
		},
		&Case{
			ID: "splice/io_uring/file-to-pipe-at-offset", Desc: "IORING_OP_SPLICE from a file at an offset into a pipe: do_splice with the offset as given",
			Calls: "io_uring splice(file, off 10, w, -1, 50); read(r)", Needs: []string{"CONFIG_IO_URING"},
			Run: func(t *T) Observation {
				data := Pattern(100, 93)
				_, f := t.File("f", data, unix.O_RDONLY)
				r, w := t.Pipe(0)
				n, err := t.uring(uringSpliceOp{Op: uringOpSplice, In: f, OffIn: 10, Out: w, OffOut: uringNoOffset, Len: 50})
				if err != nil {
					return Result(n, err)
				}
				return Seq(res(n, err), Intact(readAll(r, n), data[10:10+n]).Value)
			},
		},
		&Case{
			ID: "splice/io_uring/offset-on-pipe-pair", Desc: "IORING_OP_SPLICE between two pipes with an input offset",
			Calls: "io_uring splice(r1, off 0, w2, -1, 100)", Needs: []string{"CONFIG_IO_URING"},
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 94)))
				_, w2 := t.Pipe(0)
				return Result(t.uring(uringSpliceOp{Op: uringOpSplice, In: r1, OffIn: 0, Out: w2, OffOut: uringNoOffset, Len: 100}))
			},
		},
		&Case{
			ID: "splice/io_uring/offset-on-pipe-input", Desc: "IORING_OP_SPLICE from a pipe with an input offset into a file",
			Calls: "io_uring splice(r, off 0, file, -1, 100)", Needs: []string{"CONFIG_IO_URING"},
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 95)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				return Result(t.uring(uringSpliceOp{Op: uringOpSplice, In: r, OffIn: 0, Out: f, OffOut: uringNoOffset, Len: 100}))
			},
		},
		&Case{
			ID: "splice/io_uring/offset-on-pipe-output", Desc: "IORING_OP_SPLICE from a file into a pipe with an output offset",
			Calls: "io_uring splice(file, -1, w, off 0, 100)", Needs: []string{"CONFIG_IO_URING"},
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 96), unix.O_RDONLY)
				_, w := t.Pipe(0)
				return Result(t.uring(uringSpliceOp{Op: uringOpSplice, In: f, OffIn: uringNoOffset, Out: w, OffOut: 0, Len: 100}))
			},
		},
		&Case{
			ID: "splice/errors/no-pipe", Desc: "a file spliced into a file: neither end is a pipe",
			Calls: "splice(file, NULL, file2, NULL, 100)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 99), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				return Result(splice(in, nil, out, nil, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/offset-on-pipe-unmapped", Desc: "an input offset for a pipe, pointing at unmapped memory: the pipe is refused before the pointer is read",
			Calls: "splice(r, (loff_t *)4096, file, NULL, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 100)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				return Result(spliceRaw(r, 4096, f, 0, 100, 0))
			},
		},
		&Case{
			ID: "splice/errors/offset-on-pipe-output-unmapped", Desc: "an output offset for a pipe, pointing at unmapped memory: the pipe is refused before the pointer is read",
			Calls: "splice(file, NULL, w, (loff_t *)4096, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 101), unix.O_RDONLY)
				_, w := t.Pipe(0)
				return Result(spliceRaw(f, 0, w, 4096, 100, 0))
			},
		},
		&Case{
			ID: "splice/offsets/off-in-read-only-at-eof", Desc: "the input offset at end of file, in read-only memory: nothing moves, and writing the offset back still fails",
			Calls: "splice(file, &100 (PROT_READ), w, NULL, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 102), unix.O_RDONLY)
				r, w := t.Pipe(0)
				n, err := spliceRaw(f, t.readOnlyOffset(100), w, 0, 100, 0)
				return Seq(res(n, err), kv("pipe holds", pipeHolds(r)))
			},
		},
		&Case{
			ID: "splice/errors/bad-flags", Desc: "an undefined flag bit",
			Calls: "splice(file, w, 0x100)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", Pattern(100, 28), unix.O_RDONLY)
				return Result(splice(f, nil, w, nil, 100, 0x100))
			},
		},
		&Case{
			ID: "splice/errors/bad-flags-zero-len", Desc: "an undefined flag bit with a zero length: which check comes first",
			Calls: "splice(file, w, 0, 0x100)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", Pattern(100, 29), unix.O_RDONLY)
				return Result(splice(f, nil, w, nil, 0, 0x100))
			},
		},
		&Case{
			ID: "splice/len/zero-closed-fds", Desc: "a zero length on closed descriptors: which check comes first",
			Calls: "splice(closed, closed, 0, 0)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(r)
				t.Close(w)
				return Result(splice(r, nil, w, nil, 0, 0))
			},
		},
		&Case{
			ID: "splice/errors/negative-offset", Desc: "a negative file offset",
			Calls: "splice(file, &-1, w)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", Pattern(100, 29), unix.O_RDONLY)
				off := int64(-1)
				return Result(splice(f, &off, w, nil, 100, 0))
			},
		},
		&Case{
			ID: "splice/len/zero", Desc: "a zero-length splice",
			Calls: "splice(file, w, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", Pattern(100, 30), unix.O_RDONLY)
				return Result(splice(f, nil, w, nil, 0, 0))
			},
		},
		&Case{
			ID: "splice/len/1m-into-empty-pipe", Desc: "1 MiB requested from a 1 MiB file into an empty 64 KiB pipe",
			Calls: "splice(file, w, 1 MiB)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", Pattern(1<<20, 31), unix.O_RDONLY)
				return t.Blocking(func() (int, error) { return splice(f, nil, w, nil, 1<<20, 0) })
			},
		},
		&Case{
			ID: "splice/dev/zero-to-pipe", Desc: "/dev/zero spliced into a pipe",
			Calls: "splice(/dev/zero, w, 4 KiB)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				z, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return Skip("no /dev/zero")
				}
				t.Track(z)
				return Result(splice(z, nil, w, nil, page, 0))
			},
		},
		&Case{
			ID: "splice/dev/pipe-to-null", Desc: "a pipe spliced into /dev/null",
			Calls: "write(w, 4 KiB); splice(r, /dev/null)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(page, 32)))
				null, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return Skip("no /dev/null")
				}
				t.Track(null)
				return Result(splice(r, nil, null, nil, page, 0))
			},
		},
		&Case{
			ID: "splice/dev/pipe-to-null-partial", Desc: "100 bytes of a page spliced from a pipe into /dev/null: only 100 leave the pipe",
			Calls: "write(w, 4 KiB); splice(r, /dev/null, 100); FIONREAD",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(page, 33)))
				null, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return Skip("no /dev/null")
				}
				t.Track(null)
				n, err := splice(r, nil, null, nil, 100, 0)
				return Seq(res(n, err), kv("left", pipeHolds(r)))
			},
		},
		&Case{
			ID: "splice/nonblock/full-pipe", Desc: "a file spliced into a full O_NONBLOCK pipe",
			Calls: "fill pipe; splice(file, w, 4 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(unix.O_NONBLOCK)
				fillPipe(w)
				_, f := t.File("f", Pattern(page, 33), unix.O_RDONLY)
				return t.Blocking(func() (int, error) { return splice(f, nil, w, nil, page, unix.SPLICE_F_NONBLOCK) })
			},
		},
		&Case{
			ID: "splice/nonblock/o-nonblock-empty-pipe-to-file", Desc: "an empty O_NONBLOCK pipe with a writer spliced into a file, flags 0: the pipe's O_NONBLOCK is SPLICE_F_NONBLOCK",
			Calls: "pipe2(O_NONBLOCK); splice(r, file, 100, 0)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(unix.O_NONBLOCK)
				_, f := t.File("f", nil, unix.O_WRONLY)
				return t.Blocking(func() (int, error) { return splice(r, nil, f, nil, 100, 0) })
			},
		},
		&Case{
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
		&Case{
			ID: "splice/nonblock/o-nonblock-full-pipe-flags0", Desc: "a file spliced into a full O_NONBLOCK pipe, flags 0: the pipe's O_NONBLOCK is SPLICE_F_NONBLOCK",
			Calls: "fill pipe; splice(file, w, 4 KiB, 0)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(unix.O_NONBLOCK)
				fillPipe(w)
				_, f := t.File("f", Pattern(page, 98), unix.O_RDONLY)
				return t.Blocking(func() (int, error) { return splice(f, nil, w, nil, page, 0) })
			},
		},
		&Case{
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
		&Case{
			ID: "splice/procfs/proc-version", Desc: "/proc/version spliced into a pipe",
			Calls: "splice(/proc/version, w, 4 KiB)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				f, err := unix.Open("/proc/version", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return Skip("no /proc/version")
				}
				t.Track(f)
				n, err := splice(f, nil, w, nil, page, 0)
				if err != nil {
					return Result(n, err)
				}
				return Bool(n > 0)
			},
		},
		&Case{
			ID: "splice/dev/zero-partial-page", Desc: "5000 bytes of /dev/zero spliced into a pipe (a page and a part): what the call returns is what the pipe holds",
			Calls: "splice(/dev/zero, w, 5000); FIONREAD(r); read(r)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				z, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return Skip("no /dev/zero")
				}
				t.Track(z)
				n, err := splice(z, nil, w, nil, 5000, 0)
				held := pipeHolds(r)
				return Seq(res(n, err), kv("held", held), Intact(readAll(r, held), make([]byte, max(n, 0))).Value)
			},
		},
		&Case{
			ID: "splice/procfs/proc-version-data", Desc: "/proc/version (shorter than a page) spliced into a pipe: the pipe holds what the call returned, the file's bytes",
			Calls: "splice(/proc/version, w, 4 KiB); FIONREAD(r); read(r)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				f, err := unix.Open("/proc/version", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return Skip("no /proc/version")
				}
				t.Track(f)
				want := readFile("/proc/version")
				n, err := splice(f, nil, w, nil, page, 0)
				if err != nil {
					return Result(n, err)
				}
				held := pipeHolds(r)
				return Seq(kv("returned-all", n == len(want)), kv("held-returned", held == n), Intact(readAll(r, held), want).Value)
			},
		},
		&Case{
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
		&Case{
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
		&Case{
			ID: "splice/socket/partial-buffer", Desc: "100 bytes of a page spliced from a pipe into an AF_UNIX stream socket: only 100 leave the pipe and arrive",
			Calls: "write(w, 4 KiB); splice(r, unix socket, 100); FIONREAD both",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				data := Pattern(page, 108)
				Must(writeAll(w, data))
				a, b := t.SocketPair(unix.SOCK_STREAM)
				n, err := splice(r, nil, a, nil, 100, 0)
				return Seq(res(n, err), kv("left", pipeHolds(r)), Intact(readAll(b, fionread(b)), data[:100]).Value)
			},
		},
		&Case{
			ID: "splice/socket/pipe-page-reused", Desc: "a page spliced from a pipe into an AF_UNIX socket, then new data written to the pipe: the socket's peer still reads the first data",
			Calls: "write(w, A); splice(r, unix socket, 4 KiB); write(w, B); recv(peer)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				a, b := Pattern(page, 109), Pattern(page, 110)
				Must(writeAll(w, a))
				s1, s2 := t.SocketPair(unix.SOCK_STREAM)
				if n, err := splice(r, nil, s1, nil, page, 0); err != nil || n != page {
					return Result(n, err)
				}
				Must(writeAll(w, b))
				return Seq(Intact(readAll(s2, fionread(s2)), a).Value, Intact(readAll(r, pipeHolds(r)), b).Value)
			},
		},
		&Case{
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
		&Case{
			ID: "splice/errors/no-reader-sigpipe", Desc: "a file spliced into a pipe whose read end is closed: EPIPE and SIGPIPE to the caller",
			Calls: "close(r); splice(file, w, 100) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(r)
				_, f := t.File("f", Pattern(100, 111), unix.O_RDONLY)
				return sigpipeResult(func() (int, error) { return splice(f, nil, w, nil, 100, 0) })
			},
		},
		&Case{
			ID: "splice/errors/pipe-to-pipe-no-reader-sigpipe", Desc: "a pipe spliced into a pipe whose read end is closed: EPIPE and SIGPIPE to the caller",
			Calls: "close(r2); splice(r1, w2, 100) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 112)))
				r2, w2 := t.Pipe(0)
				t.Close(r2)
				return sigpipeResult(func() (int, error) { return splice(r1, nil, w2, nil, 100, 0) })
			},
		},
		&Case{
			ID: "splice/errors/socket-peer-closed-sigpipe", Desc: "a pipe spliced into an AF_UNIX stream socket whose peer is closed: EPIPE and SIGPIPE",
			Calls: "close(peer); splice(r, unix socket, 100) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 113)))
				a, b := t.SocketPair(unix.SOCK_STREAM)
				t.Close(b)
				return sigpipeResult(func() (int, error) { return splice(r, nil, a, nil, 100, 0) })
			},
		},
		&Case{
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
		&Case{
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
		&Case{
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
		&Case{
			ID: "splice/pipesize/shrink-to-held", Desc: "a pipe holding two pages spliced from a file shrunk to two pages (F_SETPIPE_SZ): it fits exactly, and the data stays",
			Calls: "splice(file, w, 8 KiB); fcntl(w, F_SETPIPE_SZ, 8 KiB); read(r)",
			Run:   func(t *T) Observation { return spliceThenShrink(t, 2, 128) },
		},
		&Case{
			ID: "splice/pipesize/shrink-below-held", Desc: "a pipe holding three pages spliced from a file shrunk to two (F_SETPIPE_SZ): refused, the data stays",
			Calls: "splice(file, w, 12 KiB); fcntl(w, F_SETPIPE_SZ, 8 KiB); read(r)",
			Run:   func(t *T) Observation { return spliceThenShrink(t, 3, 129) },
		},
		&Case{
			ID: "splice/socket/empty-pipe-nonblock", Desc: "an empty pipe with a writer spliced into an AF_UNIX socket with SPLICE_F_NONBLOCK",
			Calls: "splice(r, unix socket, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(0)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Blocking(func() (int, error) { return splice(r, nil, a, nil, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		&Case{
			ID: "splice/socket/empty-pipe-waits", Desc: "an empty pipe with a writer spliced into an AF_UNIX socket, flags 0: the call waits, and wakes when data comes",
			Calls: "splice(r, unix socket, 100) blocks; write(w, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Woken(func() (int, error) { return splice(r, nil, a, nil, 100, 0) }, func() error { return writeAll(w, Pattern(100, 128)) })
			},
		},
		&Case{
			ID: "splice/socket/empty-pipe-no-writers", Desc: "an empty pipe without writers spliced into an AF_UNIX socket: end of file",
			Calls: "close(w); splice(r, unix socket, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(w)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Blocking(func() (int, error) { return splice(r, nil, a, nil, 100, 0) })
			},
		},
		&Case{
			ID: "splice/socket/tcp-to-pipe", Desc: "64 KiB received on a TCP socket spliced into a pipe, then read: intact",
			Calls: "send(client, 64 KiB); splice(server, w, 64 KiB) until done; read(r)",
			Run: func(t *T) Observation {
				c, srv := t.TCPPair()
				data := Pattern(64<<10, 129)
				Must(writeAll(c, data))
				r, w := t.Pipe(0)
				var got []byte
				for len(got) < len(data) {
					n, err := splice(srv, nil, w, nil, len(data)-len(got), 0)
					if err != nil || n == 0 {
						return Result(n, err)
					}
					got = append(got, readAll(r, n)...)
				}
				return Intact(got, data)
			},
		},
		&Case{
			ID: "splice/socket/tcp-to-pipe-nonblock-empty", Desc: "a non-blocking TCP socket with nothing to read spliced into a pipe: EAGAIN, not end of file; after the peer's shutdown, end of file",
			Calls: "fcntl(server, O_NONBLOCK); splice(server, w, 100, 0); shutdown(client, SHUT_WR); splice(server, w, 100, 0)",
			Run: func(t *T) Observation {
				c, srv := t.TCPPair()
				Must(unix.SetNonblock(srv, true))
				_, w := t.Pipe(0)
				empty := t.BoundedResult(func() (int, error) { return splice(srv, nil, w, nil, 100, 0) })
				Must(unix.Shutdown(c, unix.SHUT_WR))
				// The FIN has arrived once the socket polls readable.
				unix.Poll([]unix.PollFd{{Fd: int32(srv), Events: unix.POLLIN}}, 2000)
				eof := t.BoundedResult(func() (int, error) { return splice(srv, nil, w, nil, 100, 0) })
				return Seq(empty, "after shutdown "+eof)
			},
		},
		&Case{
			ID: "splice/socket/udp-more-corks", Desc: "a pipe spliced into a connected UDP socket with SPLICE_F_MORE: the datagram is held back (MSG_MORE) until a splice without it, then both go out as one",
			Calls: "write(w, 3); splice(r, udp, 3, SPLICE_F_MORE); recv(MSG_DONTWAIT); write(w, 3); splice(r, udp, 3, 0); recv(MSG_DONTWAIT)",
			Run: func(t *T) Observation {
				rcv, snd := t.UDPPair()
				r, w := t.Pipe(0)
				buf := make([]byte, 64)
				Must(writeAll(w, []byte("abc")))
				n1, e1 := splice(r, nil, snd, nil, 3, unix.SPLICE_F_MORE)
				m1, _, r1 := unix.Recvfrom(rcv, buf, unix.MSG_DONTWAIT)
				Must(writeAll(w, []byte("def")))
				n2, e2 := splice(r, nil, snd, nil, 3, 0)
				m2, _, r2 := unix.Recvfrom(rcv, buf, unix.MSG_DONTWAIT)
				got := ""
				if m2 > 0 {
					got = strconv.Quote(string(buf[:m2]))
				}
				return Seq(res(n1, e1), "recv "+res(m1, r1), res(n2, e2), "recv "+res(m2, r2), got)
			},
		},
		&Case{
			ID: "splice/socket/unix-to-pipe-nonblock-empty", Desc: "an AF_UNIX socket with nothing to read spliced into a pipe with SPLICE_F_NONBLOCK",
			Calls: "splice(unix socket, w, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Blocking(func() (int, error) { return splice(a, nil, w, nil, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		&Case{
			ID: "splice/offsets/null-in-advances-position", Desc: "a file spliced into a pipe without an input offset: the file position advances by what moved",
			Calls: "splice(file, NULL, w, NULL, 1000); lseek(file, 0, SEEK_CUR)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(page, 130), unix.O_RDONLY)
				_, w := t.Pipe(0)
				n, err := splice(f, nil, w, nil, 1000, 0)
				pos, _ := unix.Seek(f, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("position", pos))
			},
		},
		&Case{
			ID: "splice/offsets/in-offset-keeps-position", Desc: "a file spliced into a pipe from an input offset: the offset advances, the file position does not",
			Calls: "splice(file, &100, w, NULL, 1000); lseek(file, 0, SEEK_CUR)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(page, 131), unix.O_RDONLY)
				_, w := t.Pipe(0)
				off := int64(100)
				n, err := splice(f, &off, w, nil, 1000, 0)
				pos, _ := unix.Seek(f, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("offset", off), kv("position", pos))
			},
		},
		&Case{
			ID: "splice/offsets/null-out-advances-position", Desc: "a pipe spliced into a file without an output offset, twice: the file position advances and the second lands after the first",
			Calls: "write(w, 2000); splice(r, file, NULL, 1000) x2; lseek(file, 0, SEEK_CUR); read file",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				data := Pattern(2000, 132)
				Must(writeAll(w, data))
				p, f := t.File("f", nil, unix.O_WRONLY)
				n1, err1 := splice(r, nil, f, nil, 1000, 0)
				n2, err2 := splice(r, nil, f, nil, 1000, 0)
				pos, _ := unix.Seek(f, 0, unix.SEEK_CUR)
				return Seq(res(n1, err1), res(n2, err2), kv("position", pos), Intact(readFile(p), data).Value)
			},
		},
		&Case{
			ID: "splice/offsets/out-offset-keeps-position", Desc: "a pipe spliced into a file at an output offset: the offset advances, the file position does not",
			Calls: "write(w, 1000); splice(r, NULL, file, &500, 1000); lseek(file, 0, SEEK_CUR)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(1000, 133)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				off := int64(500)
				n, err := splice(r, nil, f, &off, 1000, 0)
				pos, _ := unix.Seek(f, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("offset", off), kv("position", pos))
			},
		},
		&Case{
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
		&Case{
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
		&Case{
			ID: "splice/pipe-to-pipe/empty-input-nonblock", Desc: "an empty pipe with a writer spliced into another pipe with SPLICE_F_NONBLOCK",
			Calls: "splice(r1, w2, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r1, _ := t.Pipe(0)
				_, w2 := t.Pipe(0)
				return t.Blocking(func() (int, error) { return splice(r1, nil, w2, nil, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		&Case{
			ID: "splice/pipe-to-pipe/empty-input-no-writers", Desc: "an empty pipe without writers spliced into another pipe: end of file",
			Calls: "close(w1); splice(r1, w2, 100)",
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				t.Close(w1)
				_, w2 := t.Pipe(0)
				return t.Blocking(func() (int, error) { return splice(r1, nil, w2, nil, 100, 0) })
			},
		},
	)
	return cases
}

// spliceThenShrink splices pages pages of a file into a pipe, shrinks the
// pipe to two pages with F_SETPIPE_SZ and reads it: what the splice and
// the resize return, and whether the data stayed.
func spliceThenShrink(t *T, pages int, seed byte) Observation {
	r, w := t.Pipe(0)
	data := Pattern(pages*page, seed)
	_, f := t.File("f", data, unix.O_RDONLY)
	n, err := splice(f, nil, w, nil, len(data), 0)
	sz, serr := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, 2*page)
	return Seq(res(n, err), res(sz, serr), Intact(readAll(r, pipeHolds(r)), data[:max(n, 0)]).Value)
}
