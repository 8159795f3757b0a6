package suites

import (
	"fmt"
	"strings"
	"sync/atomic"

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
			ID: "pipe/rw/iov-max", Desc: "writev and readv take exactly IOV_MAX (1024) iovecs on a pipe, one more is EINVAL",
			Calls: "writev(w, 1024 x 1 byte); readv(r, 1024 x 1 byte); writev(w, 1025 x 1 byte)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(unix.O_NONBLOCK)
				data := Pattern(1025, 53)
				one := func(b []byte) [][]byte {
					out := make([][]byte, len(b))
					for i := range b {
						out[i] = b[i : i+1]
					}
					return out
				}
				n1, e1 := unix.Writev(w, one(data[:1024]))
				got := make([]byte, 1024)
				n2, e2 := unix.Readv(r, one(got))
				t.Check(n2 != 1024 || eq(got, data[:1024]), "readv of 1024 iovecs returned other data")
				n3, e3 := unix.Writev(w, one(data))
				return Seq(res(n1, e1), "readv "+res(n2, e2), "1025: "+res(n3, e3))
			},
		},
		{
			ID: "pipe/rw/pwritev2-offsets", Desc: "pwritev2 on a pipe: offset -1 writes at the stream, any other negative offset is EINVAL, a non-negative one ESPIPE",
			Calls: "pwritev2(w, 3 bytes, off) for off -2, -1000, 0, -1",
			Run: func(t *T) Observation {
				_, w := t.Pipe(unix.O_NONBLOCK)
				var out []string
				for _, off := range []int64{-2, -1000, 0, -1} {
					n, err := unix.Pwritev2(w, [][]byte{[]byte("abc")}, off, 0)
					out = append(out, fmt.Sprintf("%d: %s", off, res(n, err)))
				}
				return Seq(out...)
			},
		},
		{
			ID: "pipe/rw/preadv2-offsets", Desc: "preadv2 on a pipe: offset -1 reads the stream, any other negative offset is EINVAL, a non-negative one ESPIPE",
			Calls: "write(w, 100); preadv2(r, 10 bytes, off) for off -2, -1000, 0, -1",
			Run: func(t *T) Observation {
				r, w := t.Pipe(unix.O_NONBLOCK)
				Must(writeAll(w, Pattern(100, 54)))
				var out []string
				for _, off := range []int64{-2, -1000, 0, -1} {
					n, err := unix.Preadv2(r, [][]byte{make([]byte, 10)}, off, 0)
					out = append(out, fmt.Sprintf("%d: %s", off, res(n, err)))
				}
				return Seq(out...)
			},
		},
		{
			ID: "pipe/rw/pwritev2-file-negative-offset", Desc: "pwritev2 on a file at offset -2: EINVAL, the file and its position untouched (only -1 means the file position)",
			Calls: "pwritev2(file, 3 bytes, -2); fstat; lseek(file, 0, SEEK_CUR)",
			Run: func(t *T) Observation {
				_, f := t.File("f", Pattern(10, 55), unix.O_RDWR)
				n, err := unix.Pwritev2(f, [][]byte{[]byte("abc")}, -2, 0)
				var st unix.Stat_t
				Must(unix.Fstat(f, &st))
				pos, _ := unix.Seek(f, 0, unix.SEEK_CUR)
				return Seq(res(n, err), kv("size", st.Size), kv("position", pos))
			},
		},
		{
			ID: "pipe/nowait/preadv2-empty", Desc: "preadv2(RWF_NOWAIT) on an empty blocking pipe with a writer: EAGAIN at once, never a wait",
			Calls: "pipe(); preadv2(r, 16 bytes, -1, RWF_NOWAIT)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(0)
				return t.Blocking(func() (int, error) {
					return unix.Preadv2(r, [][]byte{make([]byte, 16)}, -1, unix.RWF_NOWAIT)
				})
			},
		},
		{
			ID: "pipe/nowait/preadv2-after-splice-read", Desc: "preadv2(RWF_NOWAIT) on a pipe's read end after splice read from it: EOPNOTSUPP (splice clears the pipe's NOWAIT mode on both ends it uses)",
			Calls: "write(w, 8); splice(r, file, 4); preadv2(r, 4 bytes, -1, RWF_NOWAIT)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, []byte("abcdefgh")))
				_, f := t.File("out", nil, unix.O_WRONLY)
				n, err := splice(r, nil, f, nil, 4, 0)
				if err != nil {
					return Result(n, err)
				}
				return t.Blocking(func() (int, error) {
					return unix.Preadv2(r, [][]byte{make([]byte, 4)}, -1, unix.RWF_NOWAIT)
				})
			},
		},
		{
			ID: "pipe/nowait/pwritev2-full", Desc: "pwritev2(RWF_NOWAIT) on a full blocking pipe with a reader: EAGAIN at once, never a wait",
			Calls: "pipe(); F_SETPIPE_SZ 4096; write(w, 4096); pwritev2(w, 1 byte, -1, RWF_NOWAIT)",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				if _, err := unix.FcntlInt(uintptr(w), unix.F_SETPIPE_SZ, page); err != nil {
					return Result(0, err)
				}
				Must(writeAll(w, Pattern(page, 56)))
				return t.Blocking(func() (int, error) {
					return unix.Pwritev2(w, [][]byte{{1}}, -1, unix.RWF_NOWAIT)
				})
			},
		},
		{
			ID: "pipe/write/reader-gone-while-blocked", Desc: "a write blocked on a full pipe when the last reader closes: it returns what it wrote, and SIGPIPE reaches the writer",
			Calls: "write(w, 68 KiB) blocks with 64 KiB queued; close(r); the write returns; sigtimedwait(SIGPIPE)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				data := Pattern(64<<10+page, 57)
				var raised atomic.Bool
				woken := t.Woken(func() (int, error) {
					n, err, sig := withSIGPIPE(func() (int, error) { return unix.Write(w, data) })
					raised.Store(sig)
					return n, err
				}, func() error {
					t.Close(r)
					return nil
				})
				return Seq(woken.Value, kv("SIGPIPE", raised.Load()))
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
