package suites

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

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
			ID: "pipe/flags/both-ends", Desc: "pipe2's flags reach both descriptors: close-on-exec (F_GETFD), non-blocking and packet mode (F_GETFL); without flags neither end has them",
			Calls: "pipe2(O_CLOEXEC|O_NONBLOCK|O_DIRECT); F_GETFD, F_GETFL each end; pipe2(0); F_GETFD each end",
			Run: func(t *T) Observation {
				ends := func(flags int) string {
					var p [2]int
					if err := unix.Pipe2(p[:], flags); err != nil {
						return res(-1, err)
					}
					t.Track(p[0])
					t.Track(p[1])
					var out []string
					for i, fd := range p {
						fdf, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
						fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
						out = append(out, fmt.Sprintf("%s cloexec=%v nonblock=%v direct=%v", [2]string{"r", "w"}[i],
							fdf&unix.FD_CLOEXEC != 0, fl&unix.O_NONBLOCK != 0, fl&unix.O_DIRECT != 0))
					}
					return strings.Join(out, ", ")
				}
				return Seq(ends(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT), ends(0))
			},
		},
		{
			ID: "pipe/merge/exact-fill", Desc: "a one-page pipe holding 100 bytes takes a write of the page's other 3996 into the same page (writes merge up to and including a full page)",
			Calls: "pipe2(O_NONBLOCK); F_SETPIPE_SZ 4096; write(w, 100); write(w, 3996); FIONREAD; write(w, 1)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(unix.O_NONBLOCK)
				if _, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, page); err != nil {
					return Result(0, err)
				}
				n1, e1 := unix.Write(w, Pattern(100, 50))
				n2, e2 := unix.Write(w, Pattern(page-100, 51))
				queued := fionread(r)
				n3, e3 := unix.Write(w, Pattern(1, 52))
				return Seq(res(n1, e1), res(n2, e2), kv("queued", queued), res(n3, e3))
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
