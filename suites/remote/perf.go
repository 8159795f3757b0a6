package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

// PerfOptions configure an interleaved A/B perf run.
type PerfOptions struct {
	// Baseline and Candidate boot the two kernels; for a null run
	// (host self-check) both name the same kernel.
	Baseline, Candidate vm.BootOptions
	// Level is what to measure in real time; Counted, when it has a
	// name, is the shape taken instead when both machines' clocks count
	// instructions (perf.Level.Counted).
	Level, Counted perf.Level
	Patterns       []string
	// RequireKVM refuses to measure under emulation: both kernels are
	// booted with KVM, without falling back to TCG.
	RequireKVM bool
	// Clock is what the guests' time counts under TCG: real time, or
	// executed instructions (vm.Instructions).
	Clock vm.Clock
	// Notice receives a line per round.
	Notice func(string)
	// OnStart receives the level's shape the run measures, once both
	// machines are up, and the number of benchmarks.
	OnStart func(perf.Level, int)
	// OnSample receives each sample as it arrives.
	OnSample func(runs.PerfSample)
	// Undecided, after the level's batches, names the benchmarks whose
	// comparison is still undecided (results.Undecided): each takes
	// another batch, for up to the level's Extra passes. Nil: none.
	Undecided func(*runs.Perf) []string
	// OnExtend receives the number of samples a pass of adaptive
	// sampling adds, both kernels together, before it takes them.
	OnExtend func(samples int)
}

// RunPerf boots both kernels at once and takes every benchmark's samples
// on both. In real time it alternates between them, one kernel at a time
// (A, B in even rounds, B, A in odd ones, and the order turning with each
// benchmark), so that host drift and the order itself hit both alike.
// When both clocks count instructions the host cannot reach the
// measurement: both kernels take the same batch at once, each on its own
// host CPU. The level's first Warmup samples, and each worker's first
// Settle, are recorded as warm-up. After the level's batches, each
// benchmark Undecided names takes another batch, pass after pass (the
// level's Extra), and run.Extended counts them. A
// kernel that fails under a benchmark ends the run: the samples so far
// are returned with the error.
func RunPerf(ctx context.Context, o PerfOptions) (*runs.Perf, error) {
	benches, err := perf.Select(o.Level, o.Patterns...)
	if err != nil {
		return nil, fmt.Errorf("select benchmarks: %w", err)
	}
	notice := o.Notice
	if notice == nil {
		notice = func(string) {}
	}
	level := o.Level
	run := &runs.Perf{Level: level.Record(), PinnedCPU: -1}
	for _, b := range benches {
		run.Benchmarks = append(run.Benchmarks, b.ID)
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.RequireKVM {
		o.Baseline.Accel, o.Candidate.Accel = vm.KVM, vm.KVM
	}
	o.Baseline.Clock, o.Candidate.Clock = o.Clock, o.Clock
	sides, err := bootBoth(ctx, o.Baseline, o.Candidate)
	if err != nil {
		if o.RequireKVM {
			return run, &vm.Error{Outcome: vm.Infrastructure, Msg: "perf requires KVM (--require-kvm) and KVM did not work", Err: err}
		}
		return run, err
	}
	counted := true
	for _, s := range sides {
		defer s.close()
		info := s.m.Info()
		run.Boots = append(run.Boots, Describe(info))
		counted = counted && strings.HasPrefix(info.Clock, string(vm.Instructions))
	}
	if counted && o.Counted.Name != "" {
		level = o.Counted
	}
	run.Level = level.Record()
	if o.OnStart != nil {
		o.OnStart(level, len(benches))
	}
	// Under real time both machines share one host CPU: whatever else
	// the host runs is then scheduled on the other CPUs, and what reaches
	// that one CPU reaches both kernels alike (they take turns). Counting
	// instructions, host load cannot reach the measurement: the machines
	// spread over the host's CPUs.
	if !counted {
		run.PinnedCPU = perfCPU()
	}
	if run.PinnedCPU >= 0 {
		for _, s := range sides {
			if err := s.m.Pin(run.PinnedCPU); err != nil {
				return run, err
			}
		}
		notice(fmt.Sprintf("both machines pinned to host CPU %d", run.PinnedCPU))
	}
	// batch takes n samples of b on both kernels (after each worker's
	// settling ones), numbered from round first; turn orders the two
	// kernels in real time.
	batch := func(b *perf.Benchmark, first, n, turn int) error {
		order := []*perfSide{sides[0], sides[1]}
		if turn%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		req := perf.Request{ID: b.ID, Duration: level.Duration, Count: level.Settle + n}
		got := make([][]perf.Sample, len(order))
		errs := make([]error, len(order))
		if counted {
			var wg sync.WaitGroup
			for k, s := range order {
				wg.Go(func() { got[k], errs[k] = s.sample(ctx, req) })
			}
			wg.Wait()
		} else {
			for k, s := range order {
				if got[k], errs[k] = s.sample(ctx, req); errs[k] != nil {
					break
				}
			}
		}
		for k, s := range order {
			for j, smp := range got[k] {
				// The worker's settling samples count as warm-up of
				// the round they precede.
				round := first + max(j-level.Settle, 0)
				ps := runs.PerfSample{Side: s.role, Round: round, Warmup: j < level.Settle || round < level.Warmup, Sample: smp}
				run.Samples = append(run.Samples, ps)
				if o.OnSample != nil {
					o.OnSample(ps)
				}
			}
		}
		for k, s := range order {
			if errs[k] != nil {
				return &SideError{Side: s.role, Bench: b.ID, Err: errs[k]}
			}
		}
		return nil
	}
	workers := level.Workers()
	first := 0
	for w, n := range workers {
		if counted {
			notice(fmt.Sprintf("perf batch %d/%d: %d samples of %v per benchmark, both kernels at once", w+1, len(workers), n, level.Duration))
		} else if first < level.Warmup {
			notice(fmt.Sprintf("perf warm-up round %d/%d (%d benchmarks per kernel)", first+1, level.Warmup, len(benches)))
		} else {
			notice(fmt.Sprintf("perf round %d/%d", first+1-level.Warmup, level.Rounds))
		}
		for i, b := range benches {
			if err := batch(b, first, n, w+i); err != nil {
				run.Wall = time.Since(start)
				return run, err
			}
		}
		first += n
	}
	// Adaptive sampling: another batch of each benchmark still
	// undecided, pass after pass, within the level's own number of
	// batches.
	budget := len(benches) * len(workers)
	next := map[string]int{}
	for pass := 0; o.Undecided != nil && pass < level.Extra && budget > 0; pass++ {
		ids := o.Undecided(run)
		if len(ids) == 0 {
			break
		}
		ids = ids[:min(len(ids), budget)]
		budget -= len(ids)
		n := max(level.Batch, 1)
		notice(fmt.Sprintf("perf pass %d/%d: %d more samples of %s, undecided", pass+1, level.Extra, n, strings.Join(ids, ", ")))
		if o.OnExtend != nil {
			o.OnExtend(2 * len(ids) * (level.Settle + n))
		}
		for i, id := range ids {
			b, ok := perf.Lookup(id)
			if !ok {
				continue
			}
			if next[id] == 0 {
				next[id] = first
			}
			if err := batch(b, next[id], n, pass+i); err != nil {
				run.Wall = time.Since(start)
				return run, err
			}
			next[id] += n
			if run.Extended == nil {
				run.Extended = map[string]int{}
			}
			run.Extended[id]++
		}
	}
	run.Wall = time.Since(start)
	return run, nil
}

// perfCPU picks the host CPU for the perf machines: the highest this
// process may use, or -1 when it may use only one.
func perfCPU() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() < 2 {
		return -1
	}
	for c := 1023; c >= 0; c-- {
		if set.IsSet(c) {
			return c
		}
	}
	return -1
}

// SideError is a failure of one side's kernel or guest during a perf run.
type SideError struct {
	Side  string
	Bench string // empty while booting
	Err   error
}

func (e *SideError) Error() string {
	if e.Bench == "" {
		return fmt.Sprintf("%s kernel: %v", e.Side, e.Err)
	}
	return fmt.Sprintf("%s kernel, benchmark %s: %v", e.Side, e.Bench, e.Err)
}

func (e *SideError) Unwrap() error { return e.Err }

// FaultSide is the side the failure belongs to (fault.SideOf).
func (e *SideError) FaultSide() string { return e.Side }

// perfSide is one booted kernel with its guest's perf server running.
type perfSide struct {
	role   string
	m      *vm.Machine
	req    io.WriteCloser
	resp   *bufio.Reader
	done   chan error
	stderr *strings.Builder
}

func bootBoth(ctx context.Context, a, b vm.BootOptions) ([]*perfSide, error) {
	sides := []*perfSide{{role: runs.Baseline}, {role: runs.Candidate}}
	opts := []vm.BootOptions{a, b}
	errs := make([]error, len(sides))
	var wg sync.WaitGroup
	for i := range sides {
		wg.Go(func() { errs[i] = sides[i].start(ctx, opts[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, s := range sides {
				s.close()
			}
			return nil, &SideError{Side: sides[i].role, Err: err}
		}
	}
	return sides, nil
}

func (s *perfSide) start(ctx context.Context, o vm.BootOptions) error {
	m, err := vm.Boot(ctx, o)
	if err != nil {
		return err
	}
	s.m = m
	reqR, reqW := io.Pipe()
	respR, respW := io.Pipe()
	s.req, s.resp, s.done, s.stderr = reqW, bufio.NewReader(respR), make(chan error, 1), &strings.Builder{}
	go func() {
		code, err := m.Run(ctx, proto.PerfServe, reqR, respW, s.stderr)
		if err == nil && code != 0 {
			err = fmt.Errorf("perf server exited %d: %s", code, strings.TrimSpace(s.stderr.String()))
		}
		if err == nil {
			err = io.EOF
		}
		respW.CloseWithError(err)
		s.done <- err
	}()
	return nil
}

// SampleBound is how long a request may take beyond SampleSlack times
// its samples' requested duration before the kernel counts as hung under
// the benchmark.
const (
	SampleBound = 30 * time.Second
	SampleSlack = 20
)

// sample asks the guest for a request's samples and waits for them, at
// most SampleBound plus SampleSlack times their duration: a kernel that
// hangs under a benchmark is the kernel's fault, found by the host.
func (s *perfSide) sample(ctx context.Context, req perf.Request) ([]perf.Sample, error) {
	b, _ := json.Marshal(req)
	n := req.Samples()
	type answer struct {
		lines [][]byte
		err   error
	}
	ch := make(chan answer, 1)
	go func() {
		if _, err := s.req.Write(append(b, '\n')); err != nil {
			ch <- answer{nil, err}
			return
		}
		var a answer
		for range n {
			line, err := s.resp.ReadBytes('\n')
			if err != nil {
				a.err = err
				break
			}
			a.lines = append(a.lines, line)
		}
		ch <- a
	}()
	bound := SampleBound + SampleSlack*time.Duration(n)*req.Duration
	timer := time.NewTimer(bound)
	defer timer.Stop()
	var lines [][]byte
	select {
	case a := <-ch:
		if a.err != nil {
			return nil, s.failure(a.err)
		}
		lines = a.lines
	case <-timer.C:
		return nil, &vm.Error{Outcome: vm.NoOutput, Msg: fmt.Sprintf("no samples of %s within %v: the kernel hung under the benchmark", req.ID, bound)}
	case <-ctx.Done():
		return nil, &vm.Error{Outcome: vm.Interrupted, Msg: "perf run interrupted", Err: context.Cause(ctx)}
	}
	out := make([]perf.Sample, 0, n)
	for _, line := range lines {
		var smp perf.Sample
		if err := json.Unmarshal(line, &smp); err != nil || smp.ID != req.ID {
			return out, fmt.Errorf("perf server answered %q to a request for %s", line, req.ID)
		}
		out = append(out, smp)
	}
	return out, nil
}

// failure prefers the machine's own account of what went wrong (a panic,
// a lost guest) to the broken pipe that showed it.
func (s *perfSide) failure(err error) error {
	if fault := s.m.Err(); fault != nil {
		return fault
	}
	return err
}

func (s *perfSide) close() {
	if s.m == nil {
		return
	}
	s.req.Close()
	s.m.Close()
	s.m = nil
}
