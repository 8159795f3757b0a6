package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/console"
)

// DetectorArgs are kernel arguments that make a kernel's own detectors
// report within the watchdog's bounds, whatever its configuration chose:
// a task in uninterruptible sleep after 5 s (Debian's kernels wait 120 s),
// a soft lockup after 2 x 5 s. Kernels that know neither ignore them.
var DetectorArgs = []string{"sysctl.kernel.hung_task_timeout_secs=5", "watchdog_thresh=5"}

// batch is what one boot of the guest got through.
type batch struct {
	done    []string // cases with results of their own
	charged string   // the case that crashed or hung the kernel
	wedged  bool     // the last case left the guest unable to go on
	fault   error    // the kernel's failure outside any case
	harness error    // the host's or the harness's failure
}

// beat is one record of the result stream, as the watchdog sees it.
type beat struct {
	start string // a case started
	// mark and at are the console's line and the time when the start
	// record was read, before the guest was told to go on: the case's
	// console output begins after mark.
	mark   int
	at     time.Time
	result *suites.CaseResult
	hello  bool
}

// once boots a guest and runs ids in it, watching the result stream: a
// case that sends nothing within its bound and the grace is hung, and so
// is one the guest itself reports hung; either way the evidence is taken
// and the guest is not used again.
func (r *runner) once(ctx context.Context, ids []string) (b batch) {
	boot := r.o.Boot
	boot.KernelArgs = append(slices.Clone(boot.KernelArgs), DetectorArgs...)
	m, err := r.boot(ctx, boot)
	if err != nil {
		if vm.OutcomeOf(err).KernelFault() {
			b.fault = err
		} else {
			b.harness = err
		}
		return b
	}
	defer m.Close()
	info := m.Info()
	r.run.Boots = append(r.run.Boots, Describe(info))
	r.run.Release = info.Agent.Release
	r.bootReports(m)

	beats := make(chan beat, 2*len(ids)+4)
	pr, pw := io.Pipe()
	ackR, ackW := io.Pipe()
	defer ackW.Close()
	streamDone := make(chan struct {
		s   suites.Stream
		err error
	}, 1)
	go func() {
		s, err := suites.ReadStream(pr, func(id string) {
			beats <- beat{start: id, mark: m.ConsoleMark(), at: time.Now()}
			// Acknowledge the start record, so that the guest starts the
			// case only once the host knows it is running.
			go ackW.Write([]byte("ok\n"))
		}, func(res suites.CaseResult) {
			beats <- beat{result: &res}
		})
		io.Copy(io.Discard, pr)
		streamDone <- struct {
			s   suites.Stream
			err error
		}{s, err}
	}()
	type exited struct {
		code int
		err  error
	}
	runDone := make(chan exited, 1)
	var stderr bytes.Buffer
	argv := append(slices.Clone(proto.SuitesRun), ids...)
	go func() {
		code, err := m.Run(ctx, argv, ackR, pw, &stderr)
		pw.Close()
		ackW.Close()
		runDone <- exited{code, err}
	}()

	timer := time.NewTimer(r.o.Grace)
	defer timer.Stop()
	inFlight, last := "", ""
	// mark is where the case in flight's console output begins; after is
	// where the last result's window ended: console lines from after to
	// the next case's start came between two cases.
	mark := m.ConsoleMark()
	after := mark
	started := time.Now()
	var held []beat // beats read ahead, handled before any other
	// handle deals with one beat; a batch it returns ends the boot.
	handle := func(bt beat) *batch {
		switch {
		case bt.start != "":
			if rep := oopsBetween(m, after, bt.mark); rep != nil {
				// The kernel oopsed after the last case's result and before
				// this case started: no case is to blame, and the kernel is
				// tainted.
				what := "before its first case"
				if last != "" {
					what = "after case " + last + ", before the next case started"
				}
				b.fault = &vm.Error{Outcome: vm.KernelReport, Msg: fmt.Sprintf("kernel %s %s: %s", rep.Kind, what, rep.Title), Reports: []console.Report{*rep}}
				return &b
			}
			inFlight, mark, started = bt.start, bt.mark, bt.at
			timer.Reset(r.bound(bt.start))
		case bt.result != nil:
			res := *bt.result
			// The case's window ends where the next case begins: at the
			// next start record's mark when it is already read, else now
			// (the next case has not been acknowledged, so cannot have
			// printed anything yet).
			end := m.ConsoleMark()
			select {
			case nb := <-beats:
				held = append(held, nb)
				if nb.start != "" {
					end = nb.mark
				}
			default:
			}
			inFlight, last, after = "", res.ID, end
			timer.Reset(r.o.Grace)
			if res.Hung() {
				// The guest gave up on the case but the kernel may still
				// hold it: take the evidence; the rest runs in a fresh
				// guest, clear of what the case left behind.
				r.hung(ctx, m, mark, end, res)
				b.charged = res.ID
				return &b
			}
			rep := oopsBetween(m, mark, end)
			if rep == nil {
				rep = r.lateOops(ctx, m, mark, res)
			}
			if rep != nil {
				// The kernel killed a task of the case and carried on;
				// what the case observed after that means little, and
				// the kernel is tainted: a fresh guest runs the rest.
				r.oopsed(res, rep)
				b.charged = res.ID
				return &b
			}
			r.record(res)
			b.done = append(b.done, res.ID)
			if res.Wedged {
				r.notice(fmt.Sprintf("case %s left the guest wedged: closing its descriptors blocked in the kernel", res.ID))
				b.wedged = true
				return &b
			}
		}
		return nil
	}
	for {
		if len(held) > 0 {
			bt := held[0]
			held = held[1:]
			if out := handle(bt); out != nil {
				return *out
			}
			continue
		}
		select {
		case bt := <-beats:
			if out := handle(bt); out != nil {
				return *out
			}
		case <-timer.C:
			if inFlight == "" {
				what := "before its first case"
				if last != "" {
					what = "after case " + last
				}
				ev := r.evidence(ctx, m, mark)
				b.fault = &vm.Error{Outcome: vm.NoOutput, Msg: fmt.Sprintf("the guest runner went silent %s (nothing for %v): %s", what, r.o.Grace, firstLine(ev))}
				return b
			}
			res := suites.CaseResult{
				ID:       inFlight,
				Error:    fmt.Sprintf("%s: no result within %v (host watchdog: the guest runner went silent)", suites.HungPrefix, r.bound(inFlight)),
				Duration: time.Since(started),
			}
			r.hung(ctx, m, mark, -1, res)
			b.charged = inFlight
			return b
		case x := <-runDone:
			st := <-streamDone
			// Results still queued belong to this boot, and are judged
			// as any other.
			for len(beats) > 0 {
				if out := handle(<-beats); out != nil {
					return *out
				}
			}
			return r.ended(m, b, x.code, x.err, st.s, st.err, inFlight, &stderr)
		case <-ctx.Done():
			// Results already read are the kernel's: keep them.
			for _, bt := range held {
				if bt.result != nil {
					r.record(*bt.result)
					b.done = append(b.done, bt.result.ID)
				}
			}
			for len(beats) > 0 {
				if bt := <-beats; bt.result != nil {
					r.record(*bt.result)
					b.done = append(b.done, bt.result.ID)
				}
			}
			b.harness = &vm.Error{Outcome: vm.Interrupted, Msg: "run interrupted", Err: context.Cause(ctx)}
			return b
		}
	}
}

// ended sorts out how the guest runner ended: a complete stream, a crash
// under a case, a kernel lost between cases, or the harness's failure.
func (r *runner) ended(m guest, b batch, code int, runErr error, s suites.Stream, streamErr error, inFlight string, stderr *bytes.Buffer) batch {
	if streamErr == nil {
		if code != 0 {
			b.harness = fmt.Errorf("guest runner exited %d after a complete stream: %s", code, strings.TrimSpace(stderr.String()))
		}
		return b
	}
	fault := m.Err()
	if fault == nil {
		fault = runErr
	}
	if fault == nil {
		b.harness = fmt.Errorf("result stream: %w (runner exit %d: %s)", streamErr, code, strings.TrimSpace(stderr.String()))
		return b
	}
	switch o := vm.OutcomeOf(fault); {
	case o == vm.Interrupted:
		b.harness = fault
	case !o.KernelFault():
		b.harness = fault
	case inFlight != "":
		res := suites.CaseResult{ID: inFlight, Error: "kernel crashed", Crash: crashText(fault)}
		r.run.Crashes++
		r.record(res)
		r.notice(fmt.Sprintf("case %s crashed the kernel: %v", inFlight, fault))
		b.charged = inFlight
	default:
		b.fault = fmt.Errorf("guest lost between cases: %w", fault)
	}
	return b
}

// hung records a case that did not finish, with the kernel's evidence
// since console line mark. When the kernel oopsed under the case (the
// task running it was killed and the kernel carried on) before line end
// (-1: no end), the case crashed rather than hung.
func (r *runner) hung(ctx context.Context, m guest, mark, end int, res suites.CaseResult) {
	res.Hang = r.evidence(ctx, m, mark)
	if rep := oopsBetween(m, mark, end); rep != nil {
		r.oopsed(res, rep)
		return
	}
	r.run.Hangs++
	r.record(res)
	r.notice(fmt.Sprintf("case %s hung: %s", res.ID, firstLine(res.Hang)))
}

// oopsed records a case under which the kernel oopsed: a crash.
func (r *runner) oopsed(res suites.CaseResult, rep *console.Report) {
	res.Error = fmt.Sprintf("kernel %s: the task running the case was killed; the kernel carried on", rep.Kind)
	res.Crash = rep.Title + "\n" + strings.Join(rep.Lines, "\n")
	r.run.Crashes++
	r.record(res)
	r.notice(fmt.Sprintf("case %s: %s: %s", res.ID, res.Error, rep.Title))
}

// consoleLag bounds how long the watchdog waits for the console to show
// a report that the case's own kernel log already holds (and Grace, when
// shorter): the serial console can run behind the agent's channel.
const consoleLag = 5 * time.Second

// lateOops is the report that killed a task of the case res when the
// case's kernel log (read by the guest from /dev/kmsg before it sent the
// result) holds one that the console, from mark on, does not show yet:
// the console's copy once it arrives, or, when it does not within the
// lag, one made from the kernel log. Without it an oops whose console
// text came late was judged after the case, as the kernel's between
// two cases.
func (r *runner) lateOops(ctx context.Context, m guest, mark int, res suites.CaseResult) *console.Report {
	var title string
	var kind console.Kind
	for _, l := range res.Kmsg {
		if k, ok := console.Classify(l); ok && killsTask(k) {
			kind, title = k, console.StripPrefix(l)
			break
		}
	}
	if title == "" {
		return nil
	}
	wait := min(r.o.Grace, consoleLag)
	deadline := time.Now().Add(wait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if rep := oopsBetween(m, mark, -1); rep != nil {
			return rep
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return &console.Report{Kind: kind, Title: title, Lines: res.Kmsg}
		case <-tick.C:
		}
	}
	return &console.Report{Kind: kind, Title: title,
		Lines: append([]string{fmt.Sprintf("(from the case's kernel log: the console did not show it within %v)", wait)}, res.Kmsg...)}
}

// killsTask reports whether a report of kind k kills the task it hits.
func killsTask(k console.Kind) bool {
	switch k {
	case console.Oops, console.Bug, console.GPF, console.KASAN, console.KFENCE:
		return true
	}
	return false
}

// oopsBetween returns the first report after console line mark and up to
// line end (-1: no end) of a kind that kills the task it hits (an oops, a
// BUG, a general protection fault, a KASAN or KFENCE report), or nil.
func oopsBetween(m guest, mark, end int) *console.Report {
	for _, rep := range m.ReportsSince(mark) {
		if end >= 0 && rep.Line > end {
			break
		}
		if killsTask(rep.Kind) {
			return &rep
		}
	}
	return nil
}

// bound is how long the watchdog waits for a started case's result.
func (r *runner) bound(id string) time.Duration {
	return waitBound(r.byID[id], r.o.Grace)
}

// waitBound is how long the watchdog waits for case c's result (nil: a
// case it does not know, which gets the default bound): the case's own
// bound, the time its clean-up may take and the grace. Budget adds the
// same for every case.
func waitBound(c *suites.Case, grace time.Duration) time.Duration {
	d := suites.DefaultTimeout
	if c != nil {
		d = caseBound(c)
	}
	return d + suites.CleanupTimeout + grace
}

// evidence gathers what the kernel says about a hang, since console line
// mark: its hung-task, lockup and stall reports, and the blocked tasks and
// CPU backtraces that sysrq w and l print. A guest too wedged to run the
// sysrq command costs a bounded wait; the console is read regardless.
func (r *runner) evidence(ctx context.Context, m guest, mark int) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var notes []string
	var errOut bytes.Buffer
	code, err := m.Run(ctx, proto.Sysrq("wl"), nil, nil, &errOut)
	switch {
	case err != nil:
		notes = append(notes, "sysrq through the agent failed: "+firstLine(err.Error()))
	case code != 0:
		notes = append(notes, "sysrq failed: "+strings.TrimSpace(errOut.String()))
	}
	m.Settle(time.Second, 5*time.Second)
	var b strings.Builder
	reports := m.ReportsSince(mark)
	for _, rep := range reports {
		fmt.Fprintf(&b, "%s: %s\n", rep.Kind, rep.Title)
	}
	if len(reports) == 0 {
		b.WriteString("no hung-task, lockup or stall report on the console\n")
	}
	lines := m.ConsoleSince(mark, 300)
	blocked := 0
	for _, l := range lines {
		if strings.Contains(l, " state:D ") {
			blocked++
		}
	}
	if blocked > 0 {
		fmt.Fprintf(&b, "%d task(s) in uninterruptible sleep (sysrq w)\n", blocked)
	}
	for _, n := range notes {
		b.WriteString(n + "\n")
	}
	for _, rep := range reports {
		b.WriteString("\n" + strings.Join(rep.Lines, "\n") + "\n")
	}
	if len(lines) > 0 {
		b.WriteString("\nconsole since the case started:\n")
		b.WriteString(strings.Join(lines, "\n"))
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String())
}
