package suites

import (
	"fmt"

	"golang.org/x/sys/unix"
)

const page = 4096

// vmspliceOnePage vmsplices one page of pattern A into a fresh pipe,
// overwrites the page with pattern B, and returns the pipe and both
// patterns. What the reader then sees tells aliased from copied.
func vmspliceOnePage(t *T, flags int) (r, w int, a, b []byte, mem []byte) {
	r, w = t.Pipe(0)
	mem = t.Mmap(page)
	a, b = Pattern(page, 1), Pattern(page, 2)
	copy(mem, a)
	n, err := vmsplice(w, iov(mem), flags)
	if err != nil || n != page {
		panic(fatal{fmt.Errorf("vmsplice one page: %d %v", n, err)})
	}
	copy(mem, b)
	return r, w, a, b, mem
}

func vmspliceCases() []*Case {
	cases := []*Case{
		// Aliasing: is user memory still shared with the pipe after the call?
		{
			ID: "vmsplice/alias/read", Desc: "memory changed after vmsplice, then read() from the pipe",
			Calls: "vmsplice(w, page A); memcpy(page, B); read(r)",
			Pins:  "vmsplice(2): pages are mapped into the pipe, not copied",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, 0)
				return Aliased(changed(readAll(r, page), a), page)
			},
		},
		{
			ID: "vmsplice/alias/splice-to-file", Desc: "memory changed after vmsplice, then the pipe spliced into a file",
			Calls: "vmsplice(w, page A); memcpy(page, B); splice(r, file); read file",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, 0)
				p, f := t.File("out", nil, unix.O_RDWR)
				n, err := splice(r, nil, f, nil, page, 0)
				if err != nil || n != page {
					return Result(n, err)
				}
				return Aliased(changed(readFile(p), a), page)
			},
		},
		{
			ID: "vmsplice/alias/tee", Desc: "memory changed after vmsplice, then tee into a second pipe and read that",
			Calls: "vmsplice(w, page A); memcpy(page, B); tee(r, w2); read(r2)",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, 0)
				r2, w2 := t.Pipe(0)
				if n, err := tee(r, w2, page, 0); err != nil || n != page {
					return Result(n, err)
				}
				return Aliased(changed(readAll(r2, page), a), page)
			},
		},
		{
			ID: "vmsplice/alias/splice-to-unix-socket", Desc: "memory changed after vmsplice, then the pipe spliced into an AF_UNIX socket",
			Calls: "vmsplice(w, page A); memcpy(page, B); splice(r, sock); recv(peer)",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, 0)
				s1, s2 := t.SocketPair(unix.SOCK_STREAM)
				if n, err := splice(r, nil, s1, nil, page, 0); err != nil || n != page {
					return Result(n, err)
				}
				return Aliased(changed(readAll(s2, page), a), page)
			},
		},
		{
			ID: "vmsplice/alias/mmap-file-rewritten", Desc: "a page of an mmap'ed file vmspliced, then the file rewritten with pwrite",
			Calls: "mmap(file); vmsplice(w, mapping); pwrite(file, B); read(r)",
			Run: func(t *T) Observation {
				a, b := Pattern(page, 3), Pattern(page, 4)
				_, f := t.File("mapped", a, unix.O_RDWR)
				m, err := unix.Mmap(f, 0, page, unix.PROT_READ, unix.MAP_SHARED)
				Must(err)
				t.Cleanup(func() { unix.Munmap(m) })
				r, w := t.Pipe(0)
				if n, err := vmsplice(w, iov(m), 0); err != nil || n != page {
					return Result(n, err)
				}
				if _, err := unix.Pwrite(f, b, 0); err != nil {
					return Result(0, err)
				}
				return Aliased(changed(readAll(r, page), a), page)
			},
		},
		{
			ID: "vmsplice/gift/aligned", Desc: "SPLICE_F_GIFT with a page-aligned page, changed after the call",
			Calls: "vmsplice(w, page A, SPLICE_F_GIFT); memcpy(page, B); read(r)",
			Pins:  "vmsplice(2): SPLICE_F_GIFT",
			Run: func(t *T) Observation {
				r, _, a, _, _ := vmspliceOnePage(t, unix.SPLICE_F_GIFT)
				return Aliased(changed(readAll(r, page), a), page)
			},
		},
		{
			ID: "vmsplice/gift/unaligned", Desc: "SPLICE_F_GIFT with a buffer starting 100 bytes into a page",
			Calls: "vmsplice(w, mem+100 len 1000, SPLICE_F_GIFT); change; read(r)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				mem := t.Mmap(page)
				a := Pattern(1000, 5)
				copy(mem[100:], a)
				if n, err := vmsplice(w, iov(mem[100:1100]), unix.SPLICE_F_GIFT); err != nil || n != 1000 {
					return Result(n, err)
				}
				copy(mem[100:], Pattern(1000, 6))
				return Aliased(changed(readAll(r, 1000), a), 1000)
			},
		},
		{
			ID: "vmsplice/accounting/proc-io", Desc: "/proc/self/io wchar and syscw after a 4 KiB vmsplice",
			Needs: []string{"CONFIG_TASK_IO_ACCOUNTING"},
			Calls: "read /proc/self/io; vmsplice(w, 4 KiB); read /proc/self/io",
			Run: func(t *T) Observation {
				_, w := t.Pipe(0)
				mem := t.Mmap(page)
				before := procIO()
				if before == nil {
					return Skip("no /proc/self/io (CONFIG_TASK_IO_ACCOUNTING)")
				}
				n, err := vmsplice(w, iov(mem), 0)
				after := procIO()
				return Seq(res(n, err), kv("wchar_delta", after["wchar"]-before["wchar"]), kv("syscw_delta", after["syscw"]-before["syscw"]))
			},
		},

		// The read side: vmsplice from a pipe into user memory.
		{
			ID: "vmsplice/read/integrity-shapes", Desc: "data read by vmsplice into poisoned buffers of many iovec shapes",
			Calls: "write(w, pattern); vmsplice(r, iovecs); compare, check poison",
			Run: func(t *T) Observation {
				shapes := [][]int{{1}, {7, 9}, {4096}, {4097}, {100, 4000, 3}, {1, 1, 1, 1, 4092}, {65536}}
				for _, shape := range shapes {
					r, w := t.Pipe(0)
					total := 0
					for _, s := range shape {
						total += s
					}
					want := Pattern(total, 9)
					Must(writeAll(w, want))
					mem := t.Mmap(total + 2*page)
					Poison(mem)
					var bufs [][]byte
					off := 100
					for _, s := range shape {
						bufs = append(bufs, mem[off:off+s])
						off += s + 13 // gaps that must stay poisoned
					}
					n, err := vmsplice(r, iov(bufs...), 0)
					if err != nil || n != total {
						return Result(n, err)
					}
					var got []byte
					for _, b := range bufs {
						got = append(got, b...)
					}
					if o := Intact(got, want); o.Value != "intact" {
						t.Check(false, "shape %v: %s", shape, o.Value)
						return o
					}
					for i := 0; i < 100; i++ {
						t.Check(mem[i] == 0xA5, "shape %v: byte %d before the buffers overwritten", shape, i)
					}
				}
				return Intact(nil, nil)
			},
		},
		{
			ID: "vmsplice/read/partial-buffer", Desc: "vmsplice reads 100 bytes of a page from a pipe: what it returns, what lands, what stays poisoned, what is left",
			Calls: "write(w, 4 KiB); vmsplice(r, {buf, 100}, 0); FIONREAD",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				data := Pattern(page, 34)
				Must(writeAll(w, data))
				mem := t.Mmap(2 * page)
				Poison(mem)
				n, err := vmsplice(r, iov(mem[:100]), 0)
				poisoned := "poison kept"
				for i := 100; i < len(mem); i++ {
					if mem[i] != 0xA5 {
						poisoned = fmt.Sprintf("byte %d past the buffer overwritten", i)
						break
					}
				}
				return Seq(res(n, err), Intact(mem[:100], data[:100]).Value, poisoned, kv("left", pipeHolds(r)),
					Intact(readAll(r, pipeHolds(r)), data[100:]).Value)
			},
		},
		{
			ID: "vmsplice/read/lengths-around-buffer", Desc: "vmsplice reads one byte less than, exactly and one byte more than the pipe's one buffer holds (11 bytes, a page): each returns what it asked or all there was, with the bytes in order and the rest left",
			Calls: "write(w, h); vmsplice(r, {buf, h-1 | h | h+1}, 0); FIONREAD",
			Run: func(t *T) Observation {
				var out []string
				for _, held := range []int{11, page} {
					for _, ask := range []int{held - 1, held, held + 1} {
						r, w := t.Pipe(0)
						data := Pattern(held, byte(held+ask))
						Must(writeAll(w, data))
						mem := t.Mmap(2 * page)
						n, err := vmsplice(r, iov(mem[:ask]), 0)
						got := min(max(n, 0), ask)
						out = append(out, fmt.Sprintf("%d of %d: %s %s %s", ask, held, res(n, err),
							Intact(mem[:got], data[:got]).Value, kv("left", pipeHolds(r))))
					}
				}
				return Seq(out...)
			},
		},
		{
			ID: "vmsplice/read/empty-o-nonblock", Desc: "empty O_NONBLOCK pipe read with flags 0",
			Calls: "pipe2(O_NONBLOCK); vmsplice(r, 4 KiB, 0)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(unix.O_NONBLOCK)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(r, iov(mem), 0) })
			},
		},
		{
			ID: "vmsplice/read/empty-flag-nonblock", Desc: "empty blocking pipe read with SPLICE_F_NONBLOCK",
			Calls: "pipe2(0); vmsplice(r, 4 KiB, SPLICE_F_NONBLOCK)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(0)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(r, iov(mem), unix.SPLICE_F_NONBLOCK) })
			},
		},
		{
			ID: "vmsplice/read/empty-blocking", Desc: "empty blocking pipe read with flags 0",
			Calls: "pipe2(0); vmsplice(r, 4 KiB, 0)",
			Run: func(t *T) Observation {
				r, _ := t.Pipe(0)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(r, iov(mem), 0) })
			},
		},
		{
			ID: "vmsplice/read/no-writers", Desc: "empty pipe whose write end is closed",
			Calls: "close(w); vmsplice(r, 4 KiB, 0)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				t.Close(w)
				mem := t.Mmap(page)
				return t.Blocking(func() (int, error) { return vmsplice(r, iov(mem), 0) })
			},
		},
		{
			ID: "vmsplice/read/efault", Desc: "read into an unmapped address with data in the pipe: result and bytes left",
			Calls: "write(w, 4 KiB); vmsplice(r, {bad, 4 KiB}, 0); FIONREAD",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				Must(writeAll(w, Pattern(page, 11)))
				n, err := vmspliceBad(r, page, 0)
				return Seq(res(n, err), kv("left", fionread(r)))
			},
		},
		{
			ID: "vmsplice/read/efault-partway", Desc: "vmsplice reads 10 bytes into a buffer whose last 6 lie in an inaccessible page: the call fails EFAULT as a whole, what the first 4 got and what the pipe keeps",
			Calls: "write(w, 10); mprotect(page 2, PROT_NONE); vmsplice(r, {page 2 - 4, 10}, 0); FIONREAD",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				data := Pattern(10, 12)
				Must(writeAll(w, data))
				mem := t.Mmap(2 * page)
				Poison(mem[:page])
				Must(unix.Mprotect(mem[page:], unix.PROT_NONE))
				n, err := vmsplice(r, iov(mem[page-4:page+6]), 0)
				head := "poison kept"
				if string(mem[page-4:page]) == string(data[:4]) {
					head = "first 4 bytes landed"
				} else if mem[page-4] != 0xA5 {
					head = "other bytes landed"
				}
				left := pipeHolds(r)
				return Seq(res(n, err), head, kv("left", left), Intact(readAll(r, left), data[10-left:]).Value)
			},
		},
		{
			ID: "vmsplice/write/efault", Desc: "vmsplice from an unmapped address into a pipe: result and bytes queued",
			Calls: "vmsplice(w, {bad, 4 KiB}, 0); FIONREAD",
			Run: func(t *T) Observation {
				r, w := t.Pipe(0)
				n, err := vmspliceBad(w, page, 0)
				return Seq(res(n, err), kv("queued", fionread(r)))
			},
		},
	}
	cases = append(cases, vmspliceErrorCases()...)
	cases = append(cases, vmsplicePipeCases()...)
	return cases
}
