package perf

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// env is one sample's setting: a scratch directory on the guest's tmpfs
// (so the page cache is always warm), the descriptors and helpers to
// close afterwards, and the counters the timed section updates.
type env struct {
	dir      string
	size     int
	calls    int64
	cleanups []func()
}

// op is a prepared benchmark: run does one operation and returns the
// bytes it moved; finish, when set, waits inside the timed section for
// data still in flight (a socket's reader) so that it is counted.
type op struct {
	run    func() (int64, error)
	finish func() error
}

func (e *env) cleanup(f func()) { e.cleanups = append(e.cleanups, f) }

func (e *env) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// Measure takes one sample of the benchmark req names: it prepares it,
// does one untimed operation to warm caches and socket windows, then
// repeats the operation for req.Duration and returns what it moved and
// the process's CPU time over that section.
func Measure(req Request) Sample {
	s := Sample{ID: req.ID}
	b, ok := Lookup(req.ID)
	if !ok {
		s.Error = "no benchmark " + req.ID
		return s
	}
	dir, err := os.MkdirTemp("", "perf-")
	if err != nil {
		s.Error = err.Error()
		return s
	}
	e := &env{dir: dir, size: b.Size}
	e.cleanup(func() { os.RemoveAll(dir) })
	defer e.close()
	o, err := b.setup(e)
	if err != nil {
		s.Error = "setup: " + err.Error()
		return s
	}
	if _, err := o.run(); err != nil {
		s.Error = "warm-up: " + err.Error()
		return s
	}
	e.calls = 0
	runtime.GC()
	var r0, r1 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &r0)
	start := time.Now()
	for s.Ops == 0 || time.Since(start) < req.Duration {
		n, err := o.run()
		if err != nil {
			s.Error = err.Error()
			return s
		}
		s.Bytes += n
		s.Ops++
	}
	if o.finish != nil {
		if err := o.finish(); err != nil {
			s.Error = "finish: " + err.Error()
			return s
		}
	}
	s.Wall = time.Since(start)
	unix.Getrusage(unix.RUSAGE_SELF, &r1)
	s.User = tvDiff(r1.Utime, r0.Utime)
	s.Sys = tvDiff(r1.Stime, r0.Stime)
	s.Calls, s.MaxRSSKiB = e.calls, r1.Maxrss
	return s
}

func tvDiff(a, b unix.Timeval) time.Duration {
	return time.Duration(a.Nano() - b.Nano())
}

// Worker is the guest's `perf worker REQUEST-JSON` mode: it takes one
// sample and prints it as a JSON line.
func Worker(arg string, w io.Writer) error {
	var req Request
	if err := json.Unmarshal([]byte(arg), &req); err != nil {
		return fmt.Errorf("perf worker: request %q: %w", arg, err)
	}
	return json.NewEncoder(w).Encode(Measure(req))
}

// Serve is the guest's `perf serve` mode: for each request line on r it
// runs a worker process (self, as `perf worker`) and writes its sample as
// a JSON line on w. A worker that fails or outlives its bound yields a
// sample with Error set; Serve goes on with the next request.
func Serve(ctx context.Context, self string, r io.Reader, w io.Writer) error {
	// Workers inherit this: the same address layout in every sample,
	// so that layout luck (cache colouring, TCG's TLB) does not vary
	// from one sample to the next.
	if _, _, e := unix.RawSyscall(unix.SYS_PERSONALITY, addrNoRandomize, 0, 0); e != 0 {
		return fmt.Errorf("perf serve: personality: %w", e)
	}
	sc := bufio.NewScanner(r)
	enc := json.NewEncoder(w)
	for sc.Scan() {
		var req Request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			return fmt.Errorf("perf serve: request %q: %w", sc.Text(), err)
		}
		if err := enc.Encode(runWorker(ctx, self, req)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func runWorker(ctx context.Context, self string, req Request) Sample {
	bound := 10*req.Duration + 30*time.Second
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	arg, _ := json.Marshal(req)
	cmd := exec.CommandContext(ctx, self, "perf", "worker", string(arg))
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var s Sample
	if jerr := json.Unmarshal(out, &s); jerr == nil && s.ID == req.ID {
		return s
	}
	s = Sample{ID: req.ID}
	switch {
	case ctx.Err() != nil:
		s.Error = fmt.Sprintf("worker did not finish within %v", bound)
	case err != nil:
		s.Error = fmt.Sprintf("worker: %v: %s", err, stderr.String())
	default:
		s.Error = fmt.Sprintf("worker printed no sample: %q", out)
	}
	return s
}

// addrNoRandomize is personality(2)'s ADDR_NO_RANDOMIZE.
const addrNoRandomize = 0x0040000

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// errShort reports a transfer that moved nothing where data was due.
var errShort = errors.New("transfer returned 0 bytes")
