package results

import (
	"fmt"
	"strings"

	"github.com/patchtest/patchtest/suites/perf"
)

// CopyRow is one benchmark's CPU work per byte in units of the
// calibration's one CPU copy per byte (perf.Calibration: pread from tmpfs
// into a user buffer), on each kernel.
type CopyRow struct {
	Bench string `json:"bench"`
	// Base and New are copies per byte; 0 when not measured.
	Base float64 `json:"base"`
	New  float64 `json:"new"`
}

// OneCopyBench is the file → socket path whose copies per byte answer
// whether an API still sends file data to a socket with at most one
// CPU-side copy (the receiver's, over loopback).
const OneCopyBench = "sendfile/file-tcp/1MiB"

// OneCopyLimit is the most copies per byte that pass the one-copy check:
// one copy and the TCP stack's own per-byte work (checksums, segment
// handling), which over loopback is about half a copy.
const OneCopyLimit = 1.5

// Copies divides every data-moving benchmark's median CPU per GiB by the
// calibration's, per kernel; nil when the calibration did not run.
func Copies(changes []PerfChange) []CopyRow {
	var calib *PerfChange
	for i, c := range changes {
		if strings.HasPrefix(c.Bench, perf.Calibration+"/") && c.Metric == perf.CPUPerGiB {
			calib = &changes[i]
		}
	}
	if calib == nil || calib.Base.Median <= 0 || calib.New.Median <= 0 {
		return nil
	}
	var out []CopyRow
	for _, c := range changes {
		if c.Metric != perf.CPUPerGiB || c.Bench == calib.Bench {
			continue
		}
		out = append(out, CopyRow{Bench: c.Bench, Base: c.Base.Median / calib.Base.Median, New: c.New.Median / calib.New.Median})
	}
	return out
}

// CopiesTable renders the copies per byte of both kernels, with the
// one-copy check for file → socket, in 72 columns.
func CopiesTable(rows []CopyRow, clock string) string {
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Copies per byte: each benchmark's CPU per byte over that of one\n")
	fmt.Fprintf(&b, "read() from tmpfs into a user buffer (exactly one CPU copy).\n")
	if !strings.HasPrefix(clock, "icount") {
		fmt.Fprintf(&b, "Real-time CPU under emulation is noisy; --clock icount counts\n")
		fmt.Fprintf(&b, "instructions instead.\n")
	}
	fmt.Fprintf(&b, "%-38s %10s %10s\n", "", "baseline", "candidate")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-38s %10.2f %10.2f\n", r.Bench, r.Base, r.New)
	}
	for _, r := range rows {
		if r.Bench != OneCopyBench {
			continue
		}
		verdict := func(v float64) string {
			if v <= OneCopyLimit {
				return "pass"
			}
			return "FAIL"
		}
		fmt.Fprintf(&b, "file -> socket with at most one CPU-side copy (%s <= %.1f):\n", r.Bench, OneCopyLimit)
		fmt.Fprintf(&b, "  baseline %s (%.2f), candidate %s (%.2f)\n", verdict(r.Base), r.Base, verdict(r.New), r.New)
	}
	return b.String()
}
