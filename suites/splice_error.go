package suites

import "golang.org/x/sys/unix"

// spliceErrorCases are splice(2)'s refusals: bad descriptors, flags,
// offsets where none may be given, and which check comes first.
func spliceErrorCases() []*Case {
	return []*Case{
		{
			ID: "splice/errors/ebadf", Desc: "a closed input descriptor",
			Calls: "splice(closed, w)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				r2, _ := t.Pipe(0)
				t.Close(r2)
				return Result(splice(r2, nil, w, nil, page, 0))
			},
		},
		{
			ID: "splice/errors/o-append-output", Desc: "a pipe spliced into a file opened O_APPEND",
			Calls: "splice(r, file(O_APPEND))",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 25)))
				_, f := t.File("f", nil, unix.O_WRONLY|unix.O_APPEND)
				return Result(splice(r, nil, f, nil, 100, 0))
			},
		},
		{
			ID: "splice/errors/same-pipe", Desc: "both ends of the same pipe",
			Calls: "splice(r, w) on one pipe",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 26)))
				return Result(splice(r, nil, w, nil, 100, 0))
			},
		},
		{
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
		{
			ID: "splice/errors/efault-off-out", Desc: "an output offset pointer to unmapped memory",
			Calls: "splice(r, NULL, file, (loff_t *)4096, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 31)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				return Result(spliceRaw(r, 0, f, 4096, 100, 0))
			},
		},
		{
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
		{
			ID: "splice/errors/offset-on-pipe-output", Desc: "an output offset for a pipe",
			Calls: "splice(file, NULL, w, &0, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 80), unix.O_RDONLY)
				_, w := t.Pipe(0)
				off := int64(0)
				return Result(splice(f, nil, w, &off, 100, 0))
			},
		},
		{
			ID: "splice/errors/efault-off-in", Desc: "an input offset pointer to unmapped memory",
			Calls: "splice(file, (loff_t *)4096, w, NULL, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 81), unix.O_RDONLY)
				_, w := t.Pipe(0)
				return Result(spliceRaw(f, 4096, w, 0, 100, 0))
			},
		},
		{
			ID: "splice/errors/write-only-input", Desc: "an input file opened O_WRONLY",
			Calls: "splice(file(O_WRONLY), w, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 82), unix.O_WRONLY)
				_, w := t.Pipe(0)
				return Result(splice(f, nil, w, nil, 100, 0))
			},
		},
		{
			ID: "splice/errors/read-only-output", Desc: "an output file opened O_RDONLY",
			Calls: "splice(r, file(O_RDONLY), 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 83)))
				_, f := t.File("f", nil, unix.O_RDONLY)
				return Result(splice(r, nil, f, nil, 100, 0))
			},
		},
		{
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
		{
			ID: "splice/errors/no-pipe", Desc: "a file spliced into a file: neither end is a pipe",
			Calls: "splice(file, NULL, file2, NULL, 100)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(100, 99), unix.O_RDONLY)
				_, out := t.File("out", nil, unix.O_WRONLY)
				return Result(splice(in, nil, out, nil, 100, 0))
			},
		},
		{
			ID: "splice/errors/offset-on-pipe-unmapped", Desc: "an input offset for a pipe, pointing at unmapped memory: the pipe is refused before the pointer is read",
			Calls: "splice(r, (loff_t *)4096, file, NULL, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 100)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				return Result(spliceRaw(r, 4096, f, 0, 100, 0))
			},
		},
		{
			ID: "splice/errors/offset-on-pipe-output-unmapped", Desc: "an output offset for a pipe, pointing at unmapped memory: the pipe is refused before the pointer is read",
			Calls: "splice(file, NULL, w, (loff_t *)4096, 100)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 101), unix.O_RDONLY)
				_, w := t.Pipe(0)
				return Result(spliceRaw(f, 0, w, 4096, 100, 0))
			},
		},
		{
			ID: "splice/errors/bad-flags", Desc: "an undefined flag bit",
			Calls: "splice(file, w, 0x100)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", Pattern(100, 28), unix.O_RDONLY)
				return Result(splice(f, nil, w, nil, 100, 0x100))
			},
		},
		{
			ID: "splice/errors/bad-flags-zero-len", Desc: "an undefined flag bit with a zero length: which check comes first",
			Calls: "splice(file, w, 0, 0x100)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", Pattern(100, 29), unix.O_RDONLY)
				return Result(splice(f, nil, w, nil, 0, 0x100))
			},
		},
		{
			ID: "splice/errors/negative-offset", Desc: "a negative file offset",
			Calls: "splice(file, &-1, w)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				_, f := t.File("f", Pattern(100, 29), unix.O_RDONLY)
				off := int64(-1)
				return Result(splice(f, &off, w, nil, 100, 0))
			},
		},
		{
			ID: "splice/errors/no-reader-sigpipe", Desc: "a file spliced into a pipe whose read end is closed: EPIPE and SIGPIPE to the caller",
			Calls: "close(r); splice(file, w, 100) with SIGPIPE blocked; sigtimedwait",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(r)
				_, f := t.File("f", Pattern(100, 111), unix.O_RDONLY)
				return sigpipeResult(func() (int, error) { return splice(f, nil, w, nil, 100, 0) })
			},
		},
		{
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
		{
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
	}
}
