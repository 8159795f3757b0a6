package suites

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyRangeCases are copy_file_range(2)'s, which moves file data
// through splice inside the kernel: its offsets, errors and flags.
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
		{
			ID: "copy_file_range/errors/output-pipe", Desc: "a file copied into a pipe: EINVAL (both ends must be regular files)",
			Calls: "copy_file_range(file, w, 10, 0)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(10, 75), unix.O_RDONLY)
				_, w := t.Pipe(unix.O_NONBLOCK)
				return Result(unix.CopyFileRange(in, nil, w, nil, 10, 0))
			},
		},
		{
			ID: "copy_file_range/errors/output-fifo", Desc: "a file copied into a FIFO on the same tmpfs: EINVAL, and nothing reaches the FIFO (both ends must be regular files)",
			Calls: "mkfifo; open(fifo, O_RDWR); copy_file_range(file, fifo, 10, 0); FIONREAD(fifo)",
			Run: func(t *T) Observation {
				_, in := t.File("in", Pattern(10, 76), unix.O_RDONLY)
				p := filepath.Join(t.Dir(), "fifo")
				Must(unix.Mkfifo(p, 0o600))
				fifo, err := unix.Open(p, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
				Must(err)
				t.Track(fifo)
				n, err := unix.CopyFileRange(in, nil, fifo, nil, 10, 0)
				return Seq(res(n, err), kv("queued", fionread(fifo)))
			},
		},
		{
			ID: "copy_file_range/errors/input-pipe", Desc: "a pipe copied into a file: EINVAL",
			Calls: "write(w, 10); copy_file_range(r, file, 10, 0)",
			Run: func(t *T) Observation {
				r, w := t.Pipe(unix.O_NONBLOCK)
				Must(writeAll(w, Pattern(10, 77)))
				_, out := t.File("out", nil, unix.O_WRONLY)
				n, err := unix.CopyFileRange(r, nil, out, nil, 10, 0)
				return Seq(res(n, err), kv("queued", fionread(r)))
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
