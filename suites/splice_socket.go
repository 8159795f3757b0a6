package suites

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// spliceSocketCases are splices to and from sockets (AF_UNIX, TCP and
// UDP) and splice by io_uring.
func spliceSocketCases() []*Case {
	return []*Case{
		{
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
		{
			ID: "splice/io_uring/offset-on-pipe-pair", Desc: "IORING_OP_SPLICE between two pipes with an input offset",
			Calls: "io_uring splice(r1, off 0, w2, -1, 100)", Needs: []string{"CONFIG_IO_URING"},
			Run: func(t *T) Observation {
				r1, w1 := t.Pipe(0)
				Must(writeAll(w1, Pattern(100, 94)))
				_, w2 := t.Pipe(0)
				return Result(t.uring(uringSpliceOp{Op: uringOpSplice, In: r1, OffIn: 0, Out: w2, OffOut: uringNoOffset, Len: 100}))
			},
		},
		{
			ID: "splice/io_uring/offset-on-pipe-input", Desc: "IORING_OP_SPLICE from a pipe with an input offset into a file",
			Calls: "io_uring splice(r, off 0, file, -1, 100)", Needs: []string{"CONFIG_IO_URING"},
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(100, 95)))
				_, f := t.File("f", nil, unix.O_WRONLY)
				return Result(t.uring(uringSpliceOp{Op: uringOpSplice, In: r, OffIn: 0, Out: f, OffOut: uringNoOffset, Len: 100}))
			},
		},
		{
			ID: "splice/io_uring/offset-on-pipe-output", Desc: "IORING_OP_SPLICE from a file into a pipe with an output offset",
			Calls: "io_uring splice(file, -1, w, off 0, 100)", Needs: []string{"CONFIG_IO_URING"},
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(100, 96), unix.O_RDONLY)
				_, w := t.Pipe(0)
				return Result(t.uring(uringSpliceOp{Op: uringOpSplice, In: f, OffIn: uringNoOffset, Out: w, OffOut: 0, Len: 100}))
			},
		},
		{
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
		{
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
		{
			ID: "splice/socket/empty-pipe-nonblock", Desc: "an empty pipe with a writer spliced into an AF_UNIX socket with SPLICE_F_NONBLOCK",
			Calls: "splice(r, unix socket, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(0)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Blocking(func() (int, error) { return splice(r, nil, a, nil, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "splice/socket/empty-pipe-waits", Desc: "an empty pipe with a writer spliced into an AF_UNIX socket, flags 0: the call waits, and wakes when data comes",
			Calls: "splice(r, unix socket, 100) blocks; write(w, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Woken(func() (int, error) { return splice(r, nil, a, nil, 100, 0) }, func() error { return writeAll(w, Pattern(100, 128)) })
			},
		},
		{
			ID: "splice/socket/empty-pipe-no-writers", Desc: "an empty pipe without writers spliced into an AF_UNIX socket: end of file",
			Calls: "close(w); splice(r, unix socket, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(w)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Blocking(func() (int, error) { return splice(r, nil, a, nil, 100, 0) })
			},
		},
		{
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
		{
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
		{
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
		{
			ID: "splice/socket/unix-to-pipe-nonblock-empty", Desc: "an AF_UNIX socket with nothing to read spliced into a pipe with SPLICE_F_NONBLOCK",
			Calls: "splice(unix socket, w, 100, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				a, _ := t.SocketPair(unix.SOCK_STREAM)
				return t.Blocking(func() (int, error) { return splice(a, nil, w, nil, 100, unix.SPLICE_F_NONBLOCK) })
			},
		},
	}
}
