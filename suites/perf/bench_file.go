package perf

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Benchmarks from file to file, and the calibration.

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
