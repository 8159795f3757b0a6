package results

import (
	"math"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/suites/perf"
)

// check reads the file -> socket row.
func TestCopies(t *testing.T) {
	d := func(m float64) Dist { return Dist{N: 10, Median: m} }
	cs := []PerfChange{
		{Bench: "calib/read-tmpfs/1MiB", Metric: perf.CPUPerGiB, Base: d(0.2), New: d(0.25)},
		{Bench: "calib/read-tmpfs/1MiB", Metric: perf.Throughput, Base: d(5e9), New: d(4e9)},
		{Bench: "sendfile/file-tcp/1MiB", Metric: perf.CPUPerGiB, Base: d(0.29), New: d(0.5)},
		{Bench: "vmsplice/pipe-devnull/64KiB", Metric: perf.CPUPerGiB, Base: d(0.02), New: d(0.3)},
	}
	rows := Copies(cs)
	if len(rows) != 2 || rows[0].Bench != "sendfile/file-tcp/1MiB" || math.Abs(rows[0].Base-1.45) > 1e-9 || math.Abs(rows[0].New-2) > 1e-9 || math.Abs(rows[1].Base-0.1) > 1e-9 {
		t.Fatalf("rows %+v", rows)
	}
	tab := CopiesTable(rows, "icount shift=0,sleep=off")
	if !strings.Contains(tab, "baseline pass (1.45), candidate FAIL (2.00)") || strings.Contains(tab, "noisy") {
		t.Errorf("table:\n%s", tab)
	}
	if Copies(cs[2:]) != nil {
		t.Error("copies without the calibration")
	}
}

// A calibration that moves puts the measurement in doubt: its own verdict
// and every improvement become suspect, regressions stay and still fail;
// a calibration that held changes nothing.
func TestSuspect(t *testing.T) {
	calib := perf.Calibration + "/1MiB"
	for _, tc := range []struct {
		name    string
		calib   string // the calibration's verdict
		suspect bool
	}{
		{"calibration held", PerfSame, false},
		{"calibration below the threshold", PerfBelow, false},
		{"calibration improved", PerfImprovement, true},
		{"calibration regressed", PerfRegression, true},
		{"calibration moved, not after Holm", PerfFamily, true},
		{"calibration unknown", PerfUnknown, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := []PerfChange{
				{Bench: calib, Metric: perf.Throughput, ChangePct: 7.3, P: 0.002, Verdict: tc.calib},
				{Bench: "splice/file-pipe-tcp/1MiB", Metric: perf.Throughput, ChangePct: 4, P: 0.001, Verdict: PerfImprovement},
				{Bench: "sendfile/file-tcp/1MiB", Metric: perf.CPUPerGiB, ChangePct: 7.6, P: 0.001, Verdict: PerfRegression},
				{Bench: "tee/pipe-pipe/64KiB", Metric: perf.Throughput, ChangePct: 0.1, P: 0.6, Verdict: PerfSame},
			}
			why := Suspect(cs)
			if (why != "") != tc.suspect {
				t.Fatalf("Suspect = %q; want suspect %v", why, tc.suspect)
			}
			want := []string{tc.calib, PerfImprovement, PerfRegression, PerfSame}
			if tc.suspect {
				want = []string{PerfSuspect, PerfSuspect, PerfRegression, PerfSame}
				if !strings.Contains(why, calib) || !strings.Contains(why, "+7.3%") {
					t.Errorf("Suspect = %q; want it to name %s and its change", why, calib)
				}
			}
			for i, c := range cs {
				if c.Verdict != want[i] {
					t.Errorf("%s: verdict %q, want %q", c.Bench, c.Verdict, want[i])
				}
			}
			if regs := PerfRegressions(cs, 2); len(regs) != 1 || regs[0].Bench != "sendfile/file-tcp/1MiB" {
				t.Errorf("regressions failing the run: %v", regs)
			}
		})
	}
}
