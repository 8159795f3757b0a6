package suites

import (
	"fmt"

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
			ID: "splice/dev/pipe-to-null-lengths", Desc: "a pipe holding one buffer (11 bytes, a page) spliced into /dev/null asking one byte less than it holds, exactly that and one more: what each returns and what stays",
			Calls: "write(w, h); splice(r, /dev/null, h-1 | h | h+1); FIONREAD",
			Run: func(t *T) Observation {
				null, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return Skip("no /dev/null")
				}
				t.Track(null)
				var out []string
				for _, held := range []int{11, page} {
					for _, ask := range []int{held - 1, held, held + 1} {
						r, w := t.Pipe(0)
						Must(writeAll(w, Pattern(held, 35)))
						n, err := splice(r, nil, null, nil, ask, 0)
						out = append(out, fmt.Sprintf("%d of %d: %s %s", ask, held, res(n, err), kv("left", pipeHolds(r))))
					}
				}
				return Seq(out...)
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
	)
	cases = append(cases, spliceErrorCases()...)
	cases = append(cases, spliceSocketCases()...)
	cases = append(cases, splicePipeCases()...)
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
