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

// machineBusy sums every process's exact CPU clock: burning CPU in this
// process raises it by at least the burn, and a process that does not
// exist counts nothing.
func TestMachineBusy(t *testing.T) {
	self0 := processCPU(os.Getpid())
	busy0, ok := machineBusy()
	if !ok || self0 <= 0 || busy0 < self0 {
		t.Fatalf("busy %v (%v), this process %v", busy0, ok, self0)
	}
	var r0, r1 unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &r0)
	for start := processCPU(os.Getpid()); processCPU(os.Getpid())-start < 50*time.Millisecond; {
	}
	unix.Getrusage(unix.RUSAGE_SELF, &r1)
	busy1, _ := machineBusy()
	self1 := processCPU(os.Getpid())
	if busy1-busy0 < 50*time.Millisecond {
		t.Errorf("busy rose %v over a 50 ms burn", busy1-busy0)
	}
	own := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	if own > self1-self0 {
		t.Errorf("getrusage saw %v, the process clock %v around it", own, self1-self0)
	}
	if got := processCPU(1<<22 + 1); got != 0 { // past the largest pid_max
		t.Errorf("a process that does not exist: %v", got)
	}
}

func TestSelect(t *testing.T) {
	quick, err := Select(Quick)
	if err != nil {
		t.Fatal(err)
	}
	std, _ := Select(Standard)
	all, _ := Select(Thorough)
	if !(len(quick) < len(std) && len(std) < len(all) && len(all) == len(Catalogue())) {
		t.Errorf("levels: quick %d, standard %d, thorough %d of %d", len(quick), len(std), len(all), len(Catalogue()))
	}
	tests := []struct {
		patterns []string
		want     int
		err      string
	}{
		{[]string{"vmsplice/pipe-devnull/64KiB"}, 1, ""},
		{[]string{"vmsplice/pipe-devnull"}, 1, ""},
		{[]string{"vmsplice/*/*"}, 6, ""},
		{[]string{"vmsplice/*"}, 6, ""},
		{[]string{"*/pipe-devnull"}, 2, ""},
		{[]string{"nosuch"}, 0, "matches none"},
		{[]string{"[bad"}, 0, "pattern"},
	}
	for _, tc := range tests {
		got, err := Select(Quick, tc.patterns...)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.patterns, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != tc.want {
			t.Errorf("%v: %d benchmarks, %v; want %d", tc.patterns, len(got), err, tc.want)
		}
	}
}

func TestGoName(t *testing.T) {
	for id, want := range map[string]string{
		"vmsplice/pipe-devnull/64KiB":    "BenchmarkVmsplice/pipe-devnull/size=64KiB",
		"copy_file_range/file-file/1MiB": "BenchmarkCopyfilerange/file-file/size=1MiB",
	} {
		b := &Benchmark{ID: id}
		if got := b.GoName(); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
}
