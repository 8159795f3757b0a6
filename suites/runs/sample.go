package runs

import "time"

// Metric names. Each says its unit.
const (
	Throughput = "B/s"        // bytes moved per second of wall time
	CPUPerGiB  = "cpu-s/GiB"  // CPU seconds (user+sys) per GiB moved
	NsPerOp    = "ns/op"      // wall time per operation (latency, dump time)
	CallsPerS  = "calls/s"    // system calls per second
	PeakRSS    = "maxrss-KiB" // the worker process's peak resident set
)

// Sample is one measurement of one benchmark, as the worker took it.
type Sample struct {
	ID string `json:"id"`
	// Bytes and Ops are what the timed section moved and did.
	Bytes int64 `json:"bytes"`
	Ops   int64 `json:"ops"`
	// Calls counts the data-moving system calls made.
	Calls int64         `json:"calls"`
	Wall  time.Duration `json:"wall_ns"`
	User  time.Duration `json:"user_ns"`
	Sys   time.Duration `json:"sys_ns"`
	// MaxRSSKiB is the worker process's peak resident set.
	MaxRSSKiB int64 `json:"maxrss_kib"`
	// Busy is the CPU time of every task of the machine over the timed
	// section (the worker's, kernel threads', other processes'), idle
	// excluded; zero where it could not be read. Recorded for the
	// measurement's own checks, not a metric any benchmark is judged by.
	Busy time.Duration `json:"busy_ns,omitempty"`
	// Segs is the TCP segments the machine received and sent over the
	// timed section (zero on a path without TCP, or where /proc/net/snmp
	// cannot be read); like Busy, for the measurement's own checks.
	Segs  int64  `json:"tcp_segs,omitempty"`
	Error string `json:"error,omitempty"`
}

// Metric returns the sample's value of metric, and false when the sample
// does not define it.
func (s Sample) Metric(metric string) (float64, bool) {
	if s.Wall <= 0 || s.Error != "" {
		return 0, false
	}
	switch metric {
	case Throughput:
		return float64(s.Bytes) / s.Wall.Seconds(), s.Bytes > 0
	case CPUPerGiB:
		return (s.User + s.Sys).Seconds() / (float64(s.Bytes) / (1 << 30)), s.Bytes > 0
	case NsPerOp:
		return float64(s.Wall.Nanoseconds()) / float64(s.Ops), s.Ops > 0
	case CallsPerS:
		return float64(s.Calls) / s.Wall.Seconds(), s.Calls > 0
	case PeakRSS:
		return float64(s.MaxRSSKiB), s.MaxRSSKiB > 0
	}
	return 0, false
}

// PerfLevel is what a perf run measured, as its record keeps it: the
// level's name, the measured samples per benchmark and kernel, the
// warm-up ones, each sample's target time, the samples one worker takes
// in a row (0 means 1) and those each worker takes first and discards.
// Package perf's Level says which benchmarks each level runs.
type PerfLevel struct {
	Name     string        `json:"name"`
	Rounds   int           `json:"rounds"`
	Warmup   int           `json:"warmup"`
	Duration time.Duration `json:"duration_ns"`
	Batch    int           `json:"batch,omitempty"`
	Settle   int           `json:"settle,omitempty"`
	// Extra is the most passes of adaptive sampling (perf.Level.Extra).
	Extra int `json:"extra,omitempty"`
}
