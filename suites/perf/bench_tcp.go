package perf

import (
	"fmt"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Benchmarks whose data ends on a TCP socket.

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
