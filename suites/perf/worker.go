package perf

import (
	"bufio"
	"bytes"
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

// Measure takes the samples of the benchmark req names, req.Samples() of
// them in a row. Each sample is prepared afresh (its own files, pipes and
// sockets, as if it had its own process) and warmed up by one untimed
// operation, then repeats the operation for req.Duration; it returns what
// each moved and the process's CPU time over each. State that outlives a
// sample (a TCP connection's pattern of wake-ups, a pipe's buffers) would
// tie a batch's samples to each other and make a difference between two
// batches look like a difference between two kernels. A sample that fails
// ends the batch: it is the last one returned, with its Error set.
func Measure(req Request) []Sample {
	b, ok := Lookup(req.ID)
	if !ok {
		return []Sample{{ID: req.ID, Error: "no benchmark " + req.ID}}
	}
	var out []Sample
	for range req.Samples() {
		s := measureOnce(req, b)
		out = append(out, s)
		if s.Error != "" {
			break
		}
	}
	return out
}

// measureOnce prepares b, warms it up and takes one sample.
func measureOnce(req Request, b *Benchmark) Sample {
	dir, err := os.MkdirTemp("", "perf-")
	if err != nil {
		return Sample{ID: req.ID, Error: err.Error()}
	}
	e := &env{dir: dir, size: b.Size}
	e.cleanup(func() { os.RemoveAll(dir) })
	defer e.close()
	o, err := b.setup(e)
	if err != nil {
		return Sample{ID: req.ID, Error: "setup: " + err.Error()}
	}
	if _, err := o.run(); err != nil {
		return Sample{ID: req.ID, Error: "warm-up: " + err.Error()}
	}
	return e.measure(req, o)
}

// measure takes one sample of the prepared operation o.
func (e *env) measure(req Request, o *op) Sample {
	s := Sample{ID: req.ID}
	e.calls = 0
	runtime.GC()
	var r0, r1 unix.Rusage
	busy0, busyOK := cpuClocks()
	segs0, segsOK := tcpSegs()
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
	if busy1, ok := cpuClocks(); ok && busyOK {
		s.Busy = busyBetween(busy0, busy1)
	}
	if segs1, ok := tcpSegs(); ok && segsOK {
		s.Segs = segs1 - segs0
	}
	s.User = tvDiff(r1.Utime, r0.Utime)
	s.Sys = tvDiff(r1.Stime, r0.Stime)
	s.Calls, s.MaxRSSKiB = e.calls, r1.Maxrss
	return s
}

func tvDiff(a, b unix.Timeval) time.Duration {
	return time.Duration(a.Nano() - b.Nano())
}

// Worker is the guest's `perf worker REQUEST-JSON` mode: it takes the
// request's samples and prints each as a JSON line.
func Worker(arg string, w io.Writer) error {
	var req Request
	if err := json.Unmarshal([]byte(arg), &req); err != nil {
		return fmt.Errorf("perf worker: request %q: %w", arg, err)
	}
	enc := json.NewEncoder(w)
	for _, s := range Measure(req) {
		if err := enc.Encode(s); err != nil {
			return err
		}
	}
	return nil
}

// Serve is the guest's `perf serve` mode: for each request line on r it
// runs a worker process (self, as `perf worker`) and writes its samples,
// exactly req.Samples() JSON lines, on w. A worker that fails or outlives
// its bound yields samples with Error set for those it did not take;
// Serve goes on with the next request.
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
		for _, s := range runWorker(ctx, self, req) {
			if err := enc.Encode(s); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

func runWorker(ctx context.Context, self string, req Request) []Sample {
	n := req.Samples()
	bound := time.Duration(n)*10*req.Duration + 30*time.Second
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	arg, _ := json.Marshal(req)
	cmd := exec.CommandContext(ctx, self, "perf", "worker", string(arg))
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var got []Sample
	dec := json.NewDecoder(bytes.NewReader(out))
	for len(got) < n {
		var s Sample
		if dec.Decode(&s) != nil || s.ID != req.ID {
			break
		}
		got = append(got, s)
		if s.Error != "" {
			break
		}
	}
	var why string
	switch {
	case ctx.Err() != nil:
		why = fmt.Sprintf("worker did not finish within %v", bound)
	case err != nil:
		why = fmt.Sprintf("worker: %v: %s", err, stderr.String())
	case len(got) == 0:
		why = fmt.Sprintf("worker printed no sample: %q", out)
	default:
		why = "not taken: an earlier sample of the batch failed"
		if last := got[len(got)-1]; last.Error == "" {
			why = fmt.Sprintf("worker printed %d of %d samples", len(got), n)
		}
	}
	for len(got) < n {
		got = append(got, Sample{ID: req.ID, Error: why})
	}
	return got
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
