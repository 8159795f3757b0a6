// Package remote runs the suites in a guest from the host: it boots the
// kernel, starts the guest's runner through the agent, reads the result
// stream, and, when a case brings the kernel down or hangs it, records the
// crash or the hang against that case with the kernel's evidence, boots
// again and goes on with the cases after it. Every wait is bounded on the
// host side: a guest wedged in a way no in-guest timeout can fix is found
// by the host's watchdog.
package remote

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

// Bounds of a run's host-side watchdog and crash policy.
const (
	// DefaultGrace is how long past a case's own bound the host waits for
	// the guest runner's next record before it calls the case hung.
	DefaultGrace = 15 * time.Second
	// DefaultGroupLimit is how many cases of one group (suite/group) may
	// crash or hang the kernel before the group's other cases are not run.
	DefaultGroupLimit = 3
	// DefaultChargeLimit is how many cases in all may crash or hang the
	// kernel before the rest of the run is not run.
	DefaultChargeLimit = 20
	// evidenceBound bounds gathering a hang's evidence (sysrq through the
	// agent, then the console settling) and closing the machine.
	evidenceBound = 35 * time.Second
)

// Options configure a run.
type Options struct {
	Boot     vm.BootOptions
	Patterns []string
	// Grace is the watchdog's slack past a case's bound; DefaultGrace when
	// zero.
	Grace time.Duration
	// GroupLimit and ChargeLimit cut a run short after repeated crashes
	// and hangs (DefaultGroupLimit, DefaultChargeLimit when zero).
	GroupLimit, ChargeLimit int
	// OnResult receives each case's result as it arrives.
	OnResult func(suites.CaseResult)
	// Notice receives lines worth telling the user (a crash, a reboot).
	Notice func(string)
}

// Budget is the longest a run of cases may take: what the watchdog waits
// for each case (its bound, the clean-up time and the grace), plus, for every crash or hang the limits allow, the
// evidence, the reboot and a boot's own bound. Runs end far sooner unless
// the kernel misbehaves at every turn.
func Budget(cases []*suites.Case, o Options, bootTimeout time.Duration) time.Duration {
	o = o.withDefaults()
	var d time.Duration
	groups := map[string]int{}
	for _, c := range cases {
		d += waitBound(c, o.Grace)
		groups[group(c.ID)]++
	}
	charges := 0
	for _, n := range groups {
		charges += min(n, o.GroupLimit)
	}
	charges = min(charges, o.ChargeLimit)
	return d + time.Duration(charges+1)*(evidenceBound+bootTimeout)
}

func (o Options) withDefaults() Options {
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.GroupLimit <= 0 {
		o.GroupLimit = DefaultGroupLimit
	}
	if o.ChargeLimit <= 0 {
		o.ChargeLimit = DefaultChargeLimit
	}
	return o
}

func caseBound(c *suites.Case) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return suites.DefaultTimeout
}

// group is a case's suite/group.
func group(id string) string {
	parts := strings.SplitN(id, "/", 3)
	if len(parts) < 3 {
		return id
	}
	return parts[0] + "/" + parts[1]
}

// RunSuites runs the selected cases on o.Boot's kernel. However the
// kernel misbehaves, every case ends with a result: an observation, a
// crash, a hang, or not run with the reason; the error is the host's or
// the harness's alone (or the run's interruption, with Incomplete set).
func RunSuites(ctx context.Context, o Options) (*runs.Suite, error) {
	cases, err := suites.Catalogue().Select(o.Patterns...)
	if err != nil {
		return nil, fmt.Errorf("select cases: %w", err)
	}
	o = o.withDefaults()
	notice := o.Notice
	if notice == nil {
		notice = func(string) {}
	}
	byID := map[string]*suites.Case{}
	order := map[string]int{}
	remaining := make([]string, len(cases))
	for i, c := range cases {
		remaining[i] = c.ID
		byID[c.ID] = c
		order[c.ID] = i
	}
	run := &runs.Suite{Budget: Budget(cases, o, vm.BootTimeout(o.Boot))}
	start := time.Now()
	bctx, cancel := context.WithTimeout(ctx, run.Budget)
	defer cancel()
	r := &runner{o: o, run: run, byID: byID, boot: bootGuest}
	notRun := func(ids []string, why string) {
		for _, id := range ids {
			r.record(suites.CaseResult{ID: id, NotRun: why})
		}
	}
	charges := map[string]int{}
	stalls := 0
	var harness error
	for len(remaining) > 0 {
		if ctx.Err() != nil {
			break
		}
		if bctx.Err() != nil {
			notice(fmt.Sprintf("the run's time budget (%v) ran out", run.Budget.Round(time.Second)))
			notRun(remaining, fmt.Sprintf("the run's time budget (%v) ran out", run.Budget.Round(time.Second)))
			remaining = nil
			break
		}
		b := r.once(bctx, remaining)
		// What the boot recorded is done, however it ended: an
		// interrupted boot's finished cases must not be recorded again
		// as not run.
		gone := map[string]bool{}
		for _, id := range b.done {
			gone[id] = true
		}
		if b.charged != "" {
			gone[b.charged] = true
		}
		var next []string
		for _, id := range remaining {
			if !gone[id] {
				next = append(next, id)
			}
		}
		if b.harness != nil {
			remaining = next
			if ctx.Err() != nil || bctx.Err() != nil {
				continue // said above, at the loop's top
			}
			harness = b.harness
			break
		}
		if b.charged != "" {
			g := group(b.charged)
			charges[g]++
			total := run.Crashes + run.Hangs
			switch {
			case total >= o.ChargeLimit:
				notRun(next, fmt.Sprintf("the kernel crashed or hung in %d cases; the rest is not run", total))
				next = nil
			case charges[g] >= o.GroupLimit:
				var keep, cut []string
				for _, id := range next {
					if group(id) == g {
						cut = append(cut, id)
					} else {
						keep = append(keep, id)
					}
				}
				if len(cut) > 0 {
					notice(fmt.Sprintf("the kernel crashed or hung in %d cases of %s/*: its %d other cases are not run", charges[g], g, len(cut)))
					notRun(cut, fmt.Sprintf("the kernel crashed or hung in %d earlier cases of %s/*", charges[g], g))
				}
				next = keep
			}
		}
		progressed := len(next) < len(remaining)
		if b.fault != nil {
			run.Failures = append(run.Failures, firstLine(b.fault.Error()))
			if !progressed {
				stalls++
			}
			// A kernel that never booted is not tried again; one that
			// did gets a second boot before its cases are given up.
			if !progressed && (len(run.Boots) == 0 || stalls >= 2) {
				why := "the kernel did not boot: "
				if len(run.Boots) > 0 {
					why = "the guest failed twice without running a case: "
				}
				notRun(next, why+firstLine(b.fault.Error()))
				next = nil
			}
		}
		if progressed {
			stalls = 0
		}
		if len(next) > 0 && (b.charged != "" || b.wedged || b.fault != nil) {
			notice(fmt.Sprintf("booting again for the %d remaining cases", len(next)))
		}
		remaining = next
	}
	if ctx.Err() != nil && len(remaining) > 0 {
		run.Incomplete = true
		notRun(remaining, "the run was interrupted")
	}
	// Subtests sort with their case, in the order they came.
	rank := func(id string) int {
		if n, ok := order[id]; ok {
			return n
		}
		if i := strings.LastIndex(id, "/"); i > 0 {
			if n, ok := order[id[:i]]; ok {
				return n
			}
		}
		return len(order)
	}
	sort.SliceStable(run.Results, func(i, j int) bool { return rank(run.Results[i].ID) < rank(run.Results[j].ID) })
	run.Wall = time.Since(start)
	for _, res := range run.Results {
		run.GuestTime += res.Duration
	}
	if harness != nil {
		return run, harness
	}
	if run.Incomplete {
		return run, &vm.Error{Outcome: vm.Interrupted, Msg: "run interrupted", Err: context.Cause(ctx)}
	}
	return run, nil
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// runner holds what one kernel's run shares across its boots.
type runner struct {
	o    Options
	run  *runs.Suite
	byID map[string]*suites.Case
	// boot brings up each guest (bootGuest).
	boot func(context.Context, vm.BootOptions) (guest, error)
}

// record adds a case's result to the run and passes it on; a case with
// subtests (a peer suite's) adds each as a case of its own.
func (r *runner) record(res suites.CaseResult) {
	for _, x := range res.Expand() {
		r.run.Results = append(r.run.Results, x)
		if r.o.OnResult != nil {
			r.o.OnResult(x)
		}
	}
}

func (r *runner) notice(msg string) {
	if r.o.Notice != nil {
		r.o.Notice(msg)
	}
}

// bootReports keeps the reports a guest printed before its first case.
func (r *runner) bootReports(m guest) {
	for _, rep := range m.Reports() {
		title := string(rep.Kind) + ": " + rep.Title
		seen := false
		for _, t := range r.run.BootReports {
			seen = seen || t == title
		}
		if !seen {
			r.run.BootReports = append(r.run.BootReports, title)
			r.notice("the kernel reported while booting, before any case: " + rep.Title)
		}
	}
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
