package suites

import (
	"golang.org/x/sys/unix"
)

// sendfileCases are sendfile(2)'s: file data into a socket, a pipe or a
// file, its offsets, short writes, errors and what it shares.
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
					return t.BoundedResult(func() (int, error) { return unix.Sendfile(f, in, nil, 5) })
				}
				return Seq(call(a), call(s), kv("file", len(readFile(p))))
			},
		},
		&Case{
			ID: "sendfile/udp/short-file", Desc: "a 100-byte file sent with a count of 200 into a connected UDP socket: 100, and the datagram is sent at the file's end (not held back as more to come)",
			Calls: "sendfile(udp, file, NULL, 200); recv(MSG_DONTWAIT)",
			Run: func(t *T) Observation {
				r, s := t.UDPPair()
				data := Pattern(100, 94)
				_, f := t.File("f", data, unix.O_RDONLY)
				n, serr := unix.Sendfile(s, f, nil, 200)
				buf := make([]byte, 1000)
				m, _, rerr := unix.Recvfrom(r, buf, unix.MSG_DONTWAIT)
				return Seq(res(n, serr), "recv "+res(m, rerr), Intact(buf[:max(m, 0)], data).Value)
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

// udpSocket returns a new IPv4 UDP socket, or panics with a setup failure.
func udpSocket() int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	Must(err)
	return fd
}
