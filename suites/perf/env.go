package perf

// The building blocks the benchmarks are made of: descriptors closed
// with the worker, pipes, files, buffers, sockets and loops that move
// everything asked for.

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/suites/fixture"
)

func (e *env) fd(fd int) int {
	e.cleanup(func() { unix.Close(fd) })
	return fd
}

// pipe makes a pipe holding at least n bytes (64 KiB to 1 MiB, the
// default pipe-max-size).
func (e *env) pipe(n int) (r, w int, err error) {
	var p [2]int
	if p[0], p[1], err = fixture.Pipe(0, e.fd); err != nil {
		return 0, 0, err
	}
	want := min(max(n, 64*kib), 1*mib)
	if _, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, want); err != nil {
		return 0, 0, fmt.Errorf("F_SETPIPE_SZ %d: %w", want, err)
	}
	return p[0], p[1], nil
}

// file creates a file of n pattern bytes and returns it open for reading
// and writing.
func (e *env) file(name string, n int) (int, error) {
	p := filepath.Join(e.dir, name)
	data := make([]byte, n)
	fill(data)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return 0, err
	}
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	return e.fd(fd), nil
}

// buffer maps n bytes of anonymous memory, page-aligned as vmsplice's
// page-referencing path likes, and touches every page.
func (e *env) buffer(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, max(n, 4096), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("mmap %d: %w", n, err)
	}
	e.cleanup(func() { unix.Munmap(b) })
	fill(b)
	return b[:n], nil
}

// fill writes a pattern into b, touching every page: 4 KiB computed,
// the rest copied from it in doubling steps. Under the instruction clock
// a byte-at-a-time loop over a benchmark's 16 MiB cost more than the
// sample it prepared.
func fill(b []byte) {
	for i := range min(len(b), 4096) {
		b[i] = byte(i*7 + i>>9)
	}
	for n := 4096; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

func (e *env) devNull() (int, error) {
	fd, err := unix.Open("/dev/null", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	return e.fd(fd), nil
}

// tcpPair connects two TCP sockets over loopback.
func (e *env) tcpPair() (client, server int, err error) { return fixture.TCPPair(e.fd) }

// drain starts a thread that reads the socket fd into a 256 KiB buffer
// and counts the bytes; the returned wait blocks until want bytes in all
// have arrived (it is called at the end of each timed section). The env's
// cleanup shuts the socket down and waits for the thread before any
// descriptor is closed: a reader left behind would read whatever file
// gets its descriptor number next.
func (e *env) drain(fd int) (wait func(want int64) error) {
	var got atomic.Int64
	var readErr error // set before exited closes
	progress := make(chan struct{}, 1)
	exited := make(chan struct{})
	e.cleanup(func() {
		unix.Shutdown(fd, unix.SHUT_RDWR)
		<-exited
	})
	go func() {
		defer close(exited)
		runtime.LockOSThread()
		buf := make([]byte, 256*kib)
		for {
			n, err := unix.Read(fd, buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n <= 0 {
				readErr = err
				return
			}
			got.Add(int64(n))
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	}()
	return func(want int64) error {
		for got.Load() < want {
			select {
			case <-progress:
			case <-exited:
				if got.Load() >= want {
					return nil
				}
				return fmt.Errorf("reader stopped after %d of %d bytes: %v", got.Load(), want, readErr)
			}
		}
		return nil
	}
}

func retry(err error) bool { return err == unix.EINTR || err == unix.EAGAIN }

// moveAll calls move until n bytes have moved, counting the calls;
// move gets the bytes still to go. what names the call in errors.
func (e *env) moveAll(what string, n int, move func(left int) (int, error)) error {
	for left := n; left > 0; {
		m, err := move(left)
		e.calls++
		if retry(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if m == 0 {
			return errShort
		}
		left -= m
	}
	return nil
}

// spliceAll moves exactly n bytes from in to out with splice(2).
func (e *env) spliceAll(in int, inOff *int64, out int, outOff *int64, n int, flags int) error {
	return e.moveAll("splice", n, func(left int) (int, error) {
		m, err := unix.Splice(in, inOff, out, outOff, left, flags)
		return int(m), err
	})
}

// vmspliceAll hands b to the pipe w with vmsplice(2), all of it.
func (e *env) vmspliceAll(w int, b []byte, flags int) error {
	return e.moveAll("vmsplice", len(b), func(left int) (int, error) {
		return unix.Vmsplice(w, []unix.Iovec{iovec(b[len(b)-left:])}, flags)
	})
}

func (e *env) writeAll(w int, b []byte) error {
	return e.moveAll("write", len(b), func(left int) (int, error) { return unix.Write(w, b[len(b)-left:]) })
}

func (e *env) readFull(r int, b []byte) error {
	return e.moveAll("read", len(b), func(left int) (int, error) { return unix.Read(r, b[len(b)-left:]) })
}

func iovec(b []byte) unix.Iovec {
	v := unix.Iovec{Base: &b[0]}
	v.SetLen(len(b))
	return v
}
