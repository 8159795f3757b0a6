// Package runs is the run model: what the runners produce and a run's
// record keeps — the suites' and benchmarks' runs on each kernel, the
// fuzzing run, and plain descriptions of the kernels and machines they
// ran on. It holds data and the few facts that follow from it alone;
// producers (suites/remote, the pipeline) write into it, and results
// analyses and renders it. It names neither the builder nor the runner:
// it imports no package of the project at all. The suites, the
// benchmarks and the fuzzer name the observation types, metrics and
// operations; here they are data.
package runs

import (
	"slices"
	"time"
)

// Roles: the two kernels of a run, and the sides of an A/B perf run.
const (
	Baseline  = "baseline"
	Candidate = "candidate"
)

// Suite is the outcome of running the correctness suites on one kernel.
type Suite struct {
	Release string       `json:"release"`
	Boots   []Machine    `json:"boots"`
	Results []CaseResult `json:"results"`
	// Crashes and Hangs count the cases that brought the kernel down or
	// hung it; each cost a reboot.
	Crashes int `json:"crashes"`
	Hangs   int `json:"hangs,omitempty"`
	// BootReports are the kernel reports printed while a guest booted,
	// before any case ran (a WARN in an initcall), one per title.
	BootReports []string `json:"boot_reports,omitempty"`
	// Failures are the kernel's failures outside any case: a boot that
	// failed, a guest lost or silent between cases.
	Failures []string `json:"failures,omitempty"`
	// Incomplete is set when the run was interrupted: the cases after
	// that point are not run.
	Incomplete bool `json:"incomplete,omitempty"`
	// Budget is the bound the run's wall time was held to.
	Budget time.Duration `json:"budget_ns,omitempty"`
	// GuestTime is the time the cases took in the guest.
	GuestTime time.Duration `json:"guest_time_ns"`
	Wall      time.Duration `json:"wall_ns"`
}

// Absorb adds what o ran to r, its results aside (the caller orders
// them): its boots, crashes, hangs, the kernel's reports and failures,
// and its times (guest time adds up; wall time is the longer, the parts
// having run side by side).
func (r *Suite) Absorb(o *Suite) {
	if r.Release == "" {
		r.Release = o.Release
	}
	r.Boots = append(r.Boots, o.Boots...)
	r.Crashes += o.Crashes
	r.Hangs += o.Hangs
	for _, t := range o.BootReports {
		if !slices.Contains(r.BootReports, t) {
			r.BootReports = append(r.BootReports, t)
		}
	}
	r.Failures = append(r.Failures, o.Failures...)
	r.Incomplete = r.Incomplete || o.Incomplete
	r.Budget = max(r.Budget, o.Budget)
	r.GuestTime += o.GuestTime
	r.Wall = max(r.Wall, o.Wall)
}

// PerfSample is one sample, tagged with the side and round it came from.
type PerfSample struct {
	Side  string `json:"side"`
	Round int    `json:"round"`
	// Warmup samples are discarded by the statistics.
	Warmup bool `json:"warmup,omitempty"`
	Sample
}

// Perf is the outcome of an A/B perf run.
type Perf struct {
	Level      PerfLevel    `json:"level"`
	Benchmarks []string     `json:"benchmarks"`
	Samples    []PerfSample `json:"samples"`
	// Extended counts, per benchmark, the passes of adaptive sampling
	// that took another batch of it after the level's own, because its
	// comparison was still undecided.
	Extended map[string]int `json:"extended,omitempty"`
	// Boots are the two machines, baseline first.
	Boots []Machine `json:"boots"`
	// PinnedCPU is the host CPU both machines were pinned to; -1 when
	// they were not (a host with one CPU).
	PinnedCPU int           `json:"pinned_cpu"`
	Wall      time.Duration `json:"wall_ns"`
}

// Counted reports whether both machines' clocks counted instructions.
func (r *Perf) Counted() bool {
	if r == nil || len(r.Boots) == 0 {
		return false
	}
	for _, b := range r.Boots {
		if !b.Counted() {
			return false
		}
	}
	return true
}
