package suites

import "golang.org/x/sys/unix"

// pipeCases are the pipe's own contracts that splice, tee and vmsplice
// build on, and that a change to fs/pipe.c can break without touching
// fs/splice.c: packet mode (pipe2(O_DIRECT), pipe(7)).
func pipeCases() []*Case {
	return []*Case{
		{
			ID: "pipe/packet/short-read-discards", Desc: "packet-mode pipe (O_DIRECT): a read shorter than the packet takes its start and discards the rest (pipe(7)): FIONREAD is then 0 and the next read finds nothing",
			Calls: "pipe2(O_DIRECT|O_NONBLOCK); write(w, 100); read(r, 10); FIONREAD; read(r, 100)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(unix.O_DIRECT | unix.O_NONBLOCK)
				data := Pattern(100, 47)
				Must(writeAll(w, data))
				buf := make([]byte, 100)
				n1, e1 := unix.Read(r, buf[:10])
				t.Check(n1 != 10 || eq(buf[:10], data[:10]), "the short read did not return the packet's start")
				left := fionread(r)
				n2, e2 := unix.Read(r, buf)
				return Seq(res(n1, e1), kv("queued", left), "read "+res(n2, e2))
			},
		},
		{
			ID: "pipe/packet/one-packet-a-read", Desc: "packet-mode pipe (O_DIRECT): two writes are two packets, each read returns one of them whole",
			Calls: "pipe2(O_DIRECT); write(w, 100); write(w, 50); read(r, 4096) x2",
			Run: func(t *T) Observation {
				r, w := t.Pipe(unix.O_DIRECT | unix.O_NONBLOCK)
				a, b := Pattern(100, 48), Pattern(50, 49)
				Must(writeAll(w, a))
				Must(writeAll(w, b))
				buf := make([]byte, page)
				n1, e1 := unix.Read(r, buf)
				t.Check(n1 != len(a) || eq(buf[:n1], a), "the first packet came back changed")
				n2, e2 := unix.Read(r, buf)
				t.Check(n2 != len(b) || eq(buf[:n2], b), "the second packet came back changed")
				return Seq(res(n1, e1), res(n2, e2))
			},
		},
	}
}
