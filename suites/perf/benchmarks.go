package perf

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const (
	kib = 1 << 10
	mib = 1 << 20
)

// Which level first runs a benchmark.
const (
	inQuick    = 1
	inStandard = 2
	inThorough = 3
)

// catalogue lists the benchmarks. Each family comes at several sizes;
// the quick level keeps one size per family so that it fits in a
// minute of guest time under TCG.
func catalogue() []*Benchmark {
	var bs []*Benchmark
	add := func(id, desc string, metrics []string, setup func(*env) (*op, error), sizes map[int]int) {
		for _, size := range sortedSizes(sizes) {
			bs = append(bs, &Benchmark{
				ID: id + "/" + sizeName(size), Desc: desc, Size: size,
				Metrics: metrics, level: sizes[size], setup: setup,
			})
		}
	}
	moving := []string{Throughput, CPUPerGiB}
	fileSizes := map[int]int{4 * kib: inThorough, 64 * kib: inStandard, 1 * mib: inQuick, 16 * mib: inStandard}
	pipeSizes := map[int]int{4 * kib: inStandard, 64 * kib: inQuick, 1 * mib: inThorough}

	add("sendfile/file-tcp", "sendfile(2) of a whole file (tmpfs, page cache warm) to a TCP loopback socket; a reader thread drains it",
		moving, fileToTCP(sendfileMode), fileSizes)
	add("splice/file-pipe-tcp", "splice(2) file -> pipe -> TCP loopback socket; a reader thread drains it",
		moving, fileToTCP(spliceMode), fileSizes)
	add("readwrite/file-tcp", "read(2) a file into a 128 KiB buffer and write(2) it to a TCP loopback socket: the baseline for sendfile and splice",
		moving, fileToTCP(readWriteMode), fileSizes)
	add("vmsplice/pipe-devnull", "vmsplice(2) a buffer into a pipe, splice(2) the pipe to /dev/null (stress-ng's vm-splice loop)",
		moving, pipeToNull(true), pipeSizes)
	add("write/pipe-devnull", "write(2) a buffer into a pipe, splice(2) the pipe to /dev/null: the baseline for vmsplice",
		moving, pipeToNull(false), pipeSizes)
	add("vmsplice/pipe-tcp", "vmsplice(2) a buffer into a pipe, splice(2) the pipe to a TCP loopback socket; a reader thread drains it",
		moving, pipeToTCP(true), pipeSizes)
	add("write/tcp", "write(2) a buffer to a TCP loopback socket: the baseline for vmsplice -> pipe -> socket",
		moving, pipeToTCP(false), pipeSizes)
	add("vmsplice/tee-fanout4", "vmsplice(2) a buffer into a pipe, tee(2) it to three more pipes, splice(2) all four to /dev/null (bytes count every copy delivered)",
		moving, teeFanout(4), map[int]int{64 * kib: inQuick, 4 * kib: inThorough})
	add("vmsplice/pingpong", "two threads bounce a buffer through two pipes, each side vmsplice(2)s it on and read(2)s it back: round-trip latency",
		[]string{NsPerOp, CPUPerGiB}, pingPong, map[int]int{4 * kib: inQuick, 64 * kib: inThorough})
	add("splice/zero-pipe-devnull", "splice(2) /dev/zero -> pipe -> /dev/null",
		moving, zeroToNull, map[int]int{64 * kib: inQuick, 1 * mib: inThorough})
	add("copy_file_range/file-file", "copy_file_range(2) a whole file onto another (tmpfs)",
		moving, fileToFile(true), map[int]int{1 * mib: inQuick, 16 * mib: inStandard})
	add("readwrite/file-file", "pread(2)/pwrite(2) a whole file onto another through a 128 KiB buffer (tmpfs): the baseline for copy_file_range",
		moving, fileToFile(false), map[int]int{1 * mib: inQuick, 16 * mib: inStandard})
	add(Calibration, "pread(2) a file (tmpfs, page cache warm) into a 128 KiB user buffer: exactly one CPU copy per byte, the unit of copies/B",
		moving, readOnce, map[int]int{1 * mib: inQuick})
	add("vmsplice/criu-dump", "CRIU-style dump: vmsplice(2) SPLICE_F_GIFT anonymous memory through a 1 MiB pipe and splice(2) it into a file; time per dump and the dumping process's peak RSS",
		[]string{NsPerOp, Throughput, CPUPerGiB, PeakRSS}, criuDump, map[int]int{16 * mib: inQuick, 64 * mib: inStandard})
	add("vmsplice/iovec8", "vmsplice(2) eight small iovecs (size/8 bytes each) per call, splice(2) them to /dev/null: call rate",
		[]string{CallsPerS, CPUPerGiB}, iovecRate(8), map[int]int{512: inQuick, 64: inStandard, 8 * kib: inThorough})
	return bs
}

func sortedSizes(m map[int]int) []int {
	var out []int
	for s := range m {
		out = append(out, s)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

type fileMode int

const (
	sendfileMode fileMode = iota
	spliceMode
	readWriteMode
)

func fileToTCP(mode fileMode) func(*env) (*op, error) {
	return func(e *env) (*op, error) {
		f, err := e.file("data", e.size)
		if err != nil {
			return nil, err
		}
		c, s, err := e.tcpPair()
		if err != nil {
			return nil, err
		}
		wait := e.drain(s)
		var sent int64
		var pr, pw int
		var buf []byte
		switch mode {
		case spliceMode:
			if pr, pw, err = e.pipe(64 * kib); err != nil {
				return nil, err
			}
		case readWriteMode:
			buf = make([]byte, 128*kib)
		}
		run := func() (int64, error) {
			var off int64
			for off < int64(e.size) {
				left := e.size - int(off)
				switch mode {
				case sendfileMode:
					n, err := unix.Sendfile(c, f, &off, left)
					e.calls++
					if err != nil && !retry(err) {
						return 0, fmt.Errorf("sendfile: %w", err)
					}
					if n == 0 && err == nil {
						return 0, errShort
					}
				case spliceMode:
					n, err := unix.Splice(f, &off, pw, nil, min(left, 64*kib), unix.SPLICE_F_MOVE)
					e.calls++
					if err != nil {
						return 0, fmt.Errorf("splice file->pipe: %w", err)
					}
					if n == 0 {
						return 0, errShort
					}
					if err := e.spliceAll(pr, nil, c, nil, int(n), unix.SPLICE_F_MOVE); err != nil {
						return 0, err
					}
				case readWriteMode:
					n, err := unix.Pread(f, buf[:min(left, len(buf))], off)
					e.calls++
					if err != nil {
						return 0, fmt.Errorf("pread: %w", err)
					}
					if err := e.writeAll(c, buf[:n]); err != nil {
						return 0, err
					}
					off += int64(n)
				}
			}
			sent += int64(e.size)
			return int64(e.size), nil
		}
		return &op{run: run, finish: func() error { return wait(sent) }}, nil
	}
}

func pipeToNull(vm bool) func(*env) (*op, error) {
	return func(e *env) (*op, error) {
		r, w, err := e.pipe(e.size)
		if err != nil {
			return nil, err
		}
		null, err := e.devNull()
		if err != nil {
			return nil, err
		}
		buf, err := e.buffer(e.size)
		if err != nil {
			return nil, err
		}
		chunk := min(max(e.size, 64*kib), 1*mib)
		return &op{run: func() (int64, error) {
			for off := 0; off < len(buf); off += chunk {
				part := buf[off:min(off+chunk, len(buf))]
				if vm {
					err = e.vmspliceAll(w, part, 0)
				} else {
					err = e.writeAll(w, part)
				}
				if err != nil {
					return 0, err
				}
				if err := e.spliceAll(r, nil, null, nil, len(part), unix.SPLICE_F_MOVE); err != nil {
					return 0, err
				}
			}
			return int64(len(buf)), nil
		}}, nil
	}
}

func pipeToTCP(vm bool) func(*env) (*op, error) {
	return func(e *env) (*op, error) {
		r, w, err := e.pipe(e.size)
		if err != nil {
			return nil, err
		}
		c, s, err := e.tcpPair()
		if err != nil {
			return nil, err
		}
		wait := e.drain(s)
		buf, err := e.buffer(e.size)
		if err != nil {
			return nil, err
		}
		var sent int64
		chunk := min(max(e.size, 64*kib), 1*mib)
		return &op{run: func() (int64, error) {
			for off := 0; off < len(buf); off += chunk {
				part := buf[off:min(off+chunk, len(buf))]
				if !vm {
					if err := e.writeAll(c, part); err != nil {
						return 0, err
					}
					continue
				}
				if err := e.vmspliceAll(w, part, 0); err != nil {
					return 0, err
				}
				if err := e.spliceAll(r, nil, c, nil, len(part), unix.SPLICE_F_MOVE); err != nil {
					return 0, err
				}
			}
			sent += int64(len(buf))
			return int64(len(buf)), nil
		}, finish: func() error { return wait(sent) }}, nil
	}
}

func teeFanout(pipes int) func(*env) (*op, error) {
	return func(e *env) (*op, error) {
		rs, ws := make([]int, pipes), make([]int, pipes)
		for i := range rs {
			var err error
			if rs[i], ws[i], err = e.pipe(e.size); err != nil {
				return nil, err
			}
		}
		null, err := e.devNull()
		if err != nil {
			return nil, err
		}
		buf, err := e.buffer(e.size)
		if err != nil {
			return nil, err
		}
		return &op{run: func() (int64, error) {
			if err := e.vmspliceAll(ws[0], buf, 0); err != nil {
				return 0, err
			}
			for i := 1; i < pipes; i++ {
				for left := len(buf); left > 0; {
					n, err := unix.Tee(rs[0], ws[i], left, 0)
					e.calls++
					if err != nil {
						return 0, fmt.Errorf("tee: %w", err)
					}
					if n == 0 {
						return 0, errShort
					}
					left -= int(n)
				}
			}
			for i := range pipes {
				if err := e.spliceAll(rs[i], nil, null, nil, len(buf), unix.SPLICE_F_MOVE); err != nil {
					return 0, err
				}
			}
			return int64(pipes * len(buf)), nil
		}}, nil
	}
}

func pingPong(e *env) (*op, error) {
	abR, abW, err := e.pipe(e.size)
	if err != nil {
		return nil, err
	}
	baR, baW, err := e.pipe(e.size)
	if err != nil {
		return nil, err
	}
	mine, err := e.buffer(e.size)
	if err != nil {
		return nil, err
	}
	theirs, err := e.buffer(e.size)
	if err != nil {
		return nil, err
	}
	peer := &env{}
	var stop atomic.Bool
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		runtime.LockOSThread()
		for peer.readFull(abR, theirs) == nil && !stop.Load() && peer.vmspliceAll(baW, theirs, 0) == nil {
		}
	}()
	// The peer stops before its buffer is unmapped and its descriptors
	// are closed (their numbers could be reused): one last message, seen
	// with stop set, ends its loop.
	e.cleanup(func() {
		stop.Store(true)
		if (&env{}).vmspliceAll(abW, mine, 0) == nil {
			<-exited
		}
	})
	return &op{run: func() (int64, error) {
		if err := e.vmspliceAll(abW, mine, 0); err != nil {
			return 0, err
		}
		if err := e.readFull(baR, mine); err != nil {
			return 0, err
		}
		return int64(2 * len(mine)), nil
	}}, nil
}

func zeroToNull(e *env) (*op, error) {
	r, w, err := e.pipe(e.size)
	if err != nil {
		return nil, err
	}
	null, err := e.devNull()
	if err != nil {
		return nil, err
	}
	zero, err := unix.Open("/dev/zero", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	e.fd(zero)
	return &op{run: func() (int64, error) {
		if err := e.spliceAll(zero, nil, w, nil, e.size, unix.SPLICE_F_MOVE); err != nil {
			return 0, err
		}
		if err := e.spliceAll(r, nil, null, nil, e.size, unix.SPLICE_F_MOVE); err != nil {
			return 0, err
		}
		return int64(e.size), nil
	}}, nil
}

func fileToFile(cfr bool) func(*env) (*op, error) {
	return func(e *env) (*op, error) {
		src, err := e.file("src", e.size)
		if err != nil {
			return nil, err
		}
		dst, err := e.file("dst", e.size)
		if err != nil {
			return nil, err
		}
		buf := make([]byte, 128*kib)
		return &op{run: func() (int64, error) {
			var in, out int64
			for in < int64(e.size) {
				if cfr {
					n, err := unix.CopyFileRange(src, &in, dst, &out, e.size-int(in), 0)
					e.calls++
					if err != nil {
						return 0, fmt.Errorf("copy_file_range: %w", err)
					}
					if n == 0 {
						return 0, errShort
					}
					continue
				}
				n, err := unix.Pread(src, buf[:min(len(buf), e.size-int(in))], in)
				e.calls++
				if err != nil {
					return 0, fmt.Errorf("pread: %w", err)
				}
				if _, err := unix.Pwrite(dst, buf[:n], in); err != nil {
					return 0, fmt.Errorf("pwrite: %w", err)
				}
				e.calls++
				in += int64(n)
			}
			return int64(e.size), nil
		}}, nil
	}
}

func criuDump(e *env) (*op, error) {
	r, w, err := e.pipe(1 * mib)
	if err != nil {
		return nil, err
	}
	mem, err := e.buffer(e.size)
	if err != nil {
		return nil, err
	}
	img, err := e.file("pages.img", 0)
	if err != nil {
		return nil, err
	}
	return &op{run: func() (int64, error) {
		if err := unix.Ftruncate(img, 0); err != nil {
			return 0, err
		}
		var off int64
		for p := 0; p < len(mem); p += 1 * mib {
			part := mem[p:min(p+1*mib, len(mem))]
			if err := e.vmspliceAll(w, part, unix.SPLICE_F_GIFT); err != nil {
				return 0, err
			}
			if err := e.spliceAll(r, nil, img, &off, len(part), unix.SPLICE_F_MOVE); err != nil {
				return 0, err
			}
		}
		return int64(len(mem)), nil
	}}, nil
}

func iovecRate(segs int) func(*env) (*op, error) {
	return func(e *env) (*op, error) {
		r, w, err := e.pipe(64 * kib)
		if err != nil {
			return nil, err
		}
		null, err := e.devNull()
		if err != nil {
			return nil, err
		}
		buf, err := e.buffer(max(e.size, 4096))
		if err != nil {
			return nil, err
		}
		seg := max(e.size/segs, 1)
		iovs := make([]unix.Iovec, segs)
		for i := range iovs {
			iovs[i] = iovec(buf[i*seg : (i+1)*seg])
		}
		return &op{run: func() (int64, error) {
			n, err := unix.Vmsplice(w, iovs, 0)
			e.calls++
			if err != nil {
				return 0, fmt.Errorf("vmsplice: %w", err)
			}
			// Only the vmsplice calls count: drain with a scratch env.
			if err := (&env{}).spliceAll(r, nil, null, nil, n, unix.SPLICE_F_MOVE); err != nil {
				return 0, err
			}
			return int64(n), nil
		}}, nil
	}
}

// Calibration is the family of the benchmark that makes exactly one CPU
// copy per byte; copies per byte of any other benchmark are its CPU per
// byte over this one's.
const Calibration = "calib/read-tmpfs"

// readOnce preads the file into a user buffer: one copy (page cache to
// user) per byte, nothing else per byte.
func readOnce(e *env) (*op, error) {
	src, err := e.file("src", e.size)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 128*kib)
	return &op{run: func() (int64, error) {
		var in int64
		for in < int64(e.size) {
			n, err := unix.Pread(src, buf[:min(len(buf), e.size-int(in))], in)
			e.calls++
			if err != nil {
				return 0, fmt.Errorf("pread: %w", err)
			}
			if n == 0 {
				return 0, errShort
			}
			in += int64(n)
		}
		return int64(e.size), nil
	}}, nil
}
