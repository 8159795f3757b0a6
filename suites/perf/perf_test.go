package perf

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMeasureEveryBenchmark runs each benchmark briefly on the host's own
// kernel: every one must move data without an error, report the metrics
// it declares, and leave no helper thread behind (one left reading a
// closed descriptor's number once stole the next benchmark's data).
func TestMeasureEveryBenchmark(t *testing.T) {
	for _, b := range Catalogue() {
		t.Run(b.ID, func(t *testing.T) {
			before := runtime.NumGoroutine()
			ss := Measure(Request{ID: b.ID, Duration: 5 * time.Millisecond, Count: 2})
			// A helper that signals with a deferred close is still
			// returning when Measure does: wait for the count to settle,
			// and fail on a helper that never ends.
			after := runtime.NumGoroutine()
			for deadline := time.Now().Add(2 * time.Second); after > before && time.Now().Before(deadline); after = runtime.NumGoroutine() {
				runtime.Gosched()
				time.Sleep(time.Millisecond)
			}
			if after > before {
				t.Errorf("%d goroutines before, %d two seconds after", before, after)
			}
			if len(ss) != 2 {
				t.Fatalf("%d samples, want 2: %+v", len(ss), ss)
			}
			for _, s := range ss {
				if s.Error != "" {
					t.Fatalf("error: %s", s.Error)
				}
				if s.Ops == 0 || s.Wall <= 0 || s.Calls == 0 {
					t.Fatalf("nothing measured: %+v", s)
				}
				if s.Bytes%int64(b.Size) != 0 && !strings.HasPrefix(b.ID, "vmsplice/iovec") {
					t.Errorf("moved %d bytes, not a multiple of the size %d", s.Bytes, b.Size)
				}
				for _, m := range b.Metrics {
					if v, ok := s.Metric(m); !ok || v < 0 {
						t.Errorf("metric %s: %v %v", m, v, ok)
					}
				}
				// The machine's busy time encloses the worker's own.
				if s.Busy < s.User+s.Sys {
					t.Errorf("busy %v, less than the worker's own CPU %v", s.Busy, s.User+s.Sys)
				}
			}
		})
	}
}

// The machine's busy time is every process's exact CPU clock: burning
// CPU in this process raises it by at least the burn, a process that
// does not exist counts nothing, and one that exited between two
// readings drops out rather than counting against the rest.
func TestMachineBusy(t *testing.T) {
	c0, ok := cpuClocks()
	if !ok || c0[os.Getpid()] <= 0 {
		t.Fatalf("clocks %v (%v): none for this process", len(c0), ok)
	}
	self0 := processCPU(os.Getpid())
	var r0, r1 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &r0)
	for start := processCPU(os.Getpid()); processCPU(os.Getpid())-start < 50*time.Millisecond; {
	}
	unix.Getrusage(unix.RUSAGE_SELF, &r1)
	self1 := processCPU(os.Getpid())
	c1, _ := cpuClocks()
	if d := busyBetween(c0, c1); d < 50*time.Millisecond {
		t.Errorf("busy rose %v over a 50 ms burn", d)
	}
	own := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	if own > self1-self0 {
		t.Errorf("getrusage saw %v, the process clock %v around it", own, self1-self0)
	}
	if got := processCPU(1<<22 + 1); got != 0 { // past the largest pid_max
		t.Errorf("a process that does not exist: %v", got)
	}
	ms := time.Millisecond
	if got := busyBetween(map[int]time.Duration{1: 10 * ms, 2: 500 * ms}, map[int]time.Duration{1: 14 * ms, 3: 2 * ms}); got != 6*ms {
		t.Errorf("busy with one process gone and one new: %v, want 6ms", got)
	}
}
