package perf

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Benchmarks within pipes and to /dev/null.

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
