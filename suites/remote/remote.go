// Package remote runs the suites in a guest from the host: it boots the
// kernel, starts the guest's runner through the agent, reads the result
// stream, and, when a case brings the kernel down, records the crash
// against that case, boots again and goes on with the cases after it.
package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm"
)

// GuestInit is where the guest binary, which also runs the suites, lives
// in the guest.
const GuestInit = "/init"

// Options configure a run.
type Options struct {
	Boot     vm.BootOptions
	Patterns []string
	// MaxCrashes bounds the reboots after crashes; 5 when zero.
	MaxCrashes int
	// OnResult receives each case's result as it arrives.
	OnResult func(suites.CaseResult)
	// Notice receives lines worth telling the user (a crash, a reboot).
	Notice func(string)
}

// Run is the outcome of running the suites on one kernel.
type Run struct {
	Release string              `json:"release"`
	Boots   []vm.Info           `json:"boots"`
	Results []suites.CaseResult `json:"results"`
	Crashes int                 `json:"crashes"`
	// GuestTime is the time the cases took in the guest.
	GuestTime time.Duration `json:"guest_time_ns"`
	Wall      time.Duration `json:"wall_ns"`
}

// RunSuites runs the selected cases on o.Boot's kernel.
func RunSuites(ctx context.Context, o Options) (*Run, error) {
	cases, err := suites.Catalogue().Select(o.Patterns...)
	if err != nil {
		return nil, &vm.Error{Outcome: vm.BadInput, Msg: "--suite", Err: err}
	}
	if o.MaxCrashes == 0 {
		o.MaxCrashes = 5
	}
	notice := o.Notice
	if notice == nil {
		notice = func(string) {}
	}
	remaining := make([]string, len(cases))
	for i, c := range cases {
		remaining[i] = c.ID
	}
	run := &Run{}
	start := time.Now()
	for len(remaining) > 0 {
		done, crashed, err := runOnce(ctx, o, remaining, run)
		if err != nil {
			return run, err
		}
		skip := map[string]bool{}
		for _, id := range done {
			skip[id] = true
		}
		if crashed != "" {
			skip[crashed] = true
			run.Crashes++
			if run.Crashes > o.MaxCrashes {
				return run, fmt.Errorf("%d crashes; giving up", run.Crashes)
			}
		}
		var next []string
		for _, id := range remaining {
			if !skip[id] {
				next = append(next, id)
			}
		}
		if len(next) == len(remaining) {
			return run, errors.New("the guest runner made no progress")
		}
		if len(next) > 0 && crashed != "" {
			notice(fmt.Sprintf("booting again for the %d remaining cases", len(next)))
		}
		remaining = next
	}
	run.Wall = time.Since(start)
	for _, r := range run.Results {
		run.GuestTime += r.Duration
	}
	return run, nil
}

// runOnce boots a guest and runs ids in it. It returns the IDs that got
// results and, when the kernel went down, the ID of the case that was
// running.
func runOnce(ctx context.Context, o Options, ids []string, run *Run) (done []string, crashed string, err error) {
	m, err := vm.Boot(ctx, o.Boot)
	if err != nil {
		return nil, "", err
	}
	defer m.Close()
	info := m.Info()
	run.Boots = append(run.Boots, info)
	run.Release = info.Agent.Release

	pr, pw := io.Pipe()
	type streamed struct {
		s   suites.Stream
		err error
	}
	ch := make(chan streamed, 1)
	// Acknowledge each start record, so that the guest starts a case only
	// once the host knows it is running.
	ackR, ackW := io.Pipe()
	defer ackW.Close()
	go func() {
		s, err := suites.ReadStream(pr, func(string) { go ackW.Write([]byte("ok\n")) }, func(r suites.CaseResult) {
			run.Results = append(run.Results, r)
			done = append(done, r.ID)
			if o.OnResult != nil {
				o.OnResult(r)
			}
		})
		io.Copy(io.Discard, pr)
		ch <- streamed{s, err}
	}()
	var stderr bytes.Buffer
	argv := append([]string{GuestInit, "suites", "run", "--ack"}, ids...)
	code, runErr := m.Run(ctx, argv, ackR, pw, &stderr)
	pw.Close()
	ackW.Close()
	st := <-ch
	if st.err == nil {
		if code != 0 {
			return done, "", fmt.Errorf("guest runner exited %d after a complete stream: %s", code, strings.TrimSpace(stderr.String()))
		}
		return done, "", nil
	}
	// The stream broke: the kernel went down under a case, or the runner
	// failed.
	if fault := m.Err(); fault != nil || runErr != nil {
		if runErr == nil {
			runErr = fault
		}
		if vm.OutcomeOf(runErr) == vm.Interrupted {
			return done, "", runErr
		}
		if st.s.InFlight == "" {
			return done, "", fmt.Errorf("guest lost between cases: %w", runErr)
		}
		res := suites.CaseResult{ID: st.s.InFlight, Error: "kernel crashed", Crash: crashText(runErr)}
		run.Results = append(run.Results, res)
		if o.OnResult != nil {
			o.OnResult(res)
		}
		if o.Notice != nil {
			o.Notice(fmt.Sprintf("case %s crashed the kernel: %v", st.s.InFlight, runErr))
		}
		return done, st.s.InFlight, nil
	}
	return done, "", fmt.Errorf("result stream: %w (runner exit %d: %s)", st.err, code, strings.TrimSpace(stderr.String()))
}

// crashText is the kernel's report for a crash, for the record.
func crashText(err error) string {
	var e *vm.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(e.Error())
	for _, r := range e.Reports {
		b.WriteString("\n")
		b.WriteString(strings.Join(r.Lines, "\n"))
	}
	return b.String()
}
