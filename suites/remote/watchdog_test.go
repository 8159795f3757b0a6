package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/console"
)

// fakeGuest is a booted machine whose guest runner is a script: it
// writes the result stream as the real runner does (a start record,
// acknowledged by the host, then the case's record), and can print kernel
// reports on the console, fall silent or die.
type fakeGuest struct {
	script func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error)
	gone   chan struct{} // closed by Close, as QEMU's death ends every call
	// interrupt interrupts the run (a SIGINT to patchtest).
	interrupt func()
	// gate, when set, holds every ReportsSince until it is closed: the
	// watchdog then reads the console later than the script wrote it.
	gate chan struct{}
	// recorded receives the ID of each result the watchdog recorded.
	recorded chan string

	mu      sync.Mutex
	lines   int // console lines so far
	reports []console.Report
	err     error // the machine's own fault (Err)
	sysrq   int
}

func newFake(script func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error)) *fakeGuest {
	return &fakeGuest{script: script, gone: make(chan struct{})}
}

func (g *fakeGuest) Info() vm.Info { return vm.Info{} }

func (g *fakeGuest) Run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	switch {
	case slices.Equal(argv, proto.Sysrq("wl")):
		g.mu.Lock()
		g.sysrq++
		g.mu.Unlock()
		return 0, nil
	case len(argv) > len(proto.SuitesRun) && slices.Equal(argv[:len(proto.SuitesRun)], proto.SuitesRun):
		s := &fakeStream{ids: argv[len(proto.SuitesRun):], enc: json.NewEncoder(stdout), ack: bufio.NewReader(stdin)}
		return g.script(ctx, g, s)
	}
	return 127, errors.New("fake guest: unknown command")
}

// print puts a kernel report on the console.
func (g *fakeGuest) print(kind console.Kind, title string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lines += 3
	g.reports = append(g.reports, console.Report{Kind: kind, Title: title, Lines: []string{title, "Call Trace:"}, Line: g.lines - 2, Complete: true})
}

func (g *fakeGuest) ConsoleMark() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lines
}

func (g *fakeGuest) ConsoleSince(mark, max int) []string { return nil }
func (g *fakeGuest) Reports() []console.Report           { return g.reportsSince(0) }

func (g *fakeGuest) ReportsSince(mark int) []console.Report {
	if g.gate != nil {
		<-g.gate
	}
	return g.reportsSince(mark)
}

func (g *fakeGuest) reportsSince(mark int) []console.Report {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []console.Report
	for _, r := range g.reports {
		if r.Line > mark {
			out = append(out, r)
		}
	}
	return out
}

func (g *fakeGuest) Settle(quiet, d time.Duration) {}

func (g *fakeGuest) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

func (g *fakeGuest) Close() error {
	select {
	case <-g.gone:
	default:
		close(g.gone)
	}
	return nil
}

// silent blocks as a guest that sends nothing more does, until the
// machine is closed or the run interrupted.
func (g *fakeGuest) silent(ctx context.Context) (int, error) {
	select {
	case <-g.gone:
		return -1, &vm.Error{Outcome: vm.LostConnection, Msg: "machine closed"}
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// fakeStream writes the guest runner's records.
type fakeStream struct {
	ids []string
	enc *json.Encoder
	ack *bufio.Reader
	n   int
}

func (s *fakeStream) hello() {
	s.enc.Encode(suites.StreamRecord{Kind: suites.RecordHello, Version: suites.StreamVersion, Cases: s.ids})
}

// start begins case id and waits for the host's acknowledgement.
func (s *fakeStream) start(id string) {
	s.enc.Encode(suites.StreamRecord{Kind: suites.RecordStart, ID: id})
	s.ack.ReadString('\n')
}

func (s *fakeStream) result(r suites.StreamRecord) {
	r.Kind = suites.RecordCase
	s.enc.Encode(r)
	s.n++
}

func (s *fakeStream) pass(id string) {
	s.start(id)
	s.result(suites.StreamRecord{ID: id, Obs: &suites.Observation{Type: "ret", Value: "0"}})
}

func (s *fakeStream) end() (int, error) {
	s.enc.Encode(suites.StreamRecord{Kind: suites.RecordEnd, Count: s.n})
	return 0, nil
}

// The host watchdog, on a scripted guest: each way a guest can end a
// batch (every result, a case gone silent, a guest silent between cases,
// a hang the guest reports, an oops under a case, a crash mid-case, a
// wedged case, the harness's failure, a boot that fails, an interrupt)
// is charged to the right case, as a kernel fault or as the harness's.
func TestWatchdog(t *testing.T) {
	ids := []string{"splice/w/one", "splice/w/two", "splice/w/three"}
	panicked := &vm.Error{Outcome: vm.KernelPanic, Msg: "kernel panic", Reports: []console.Report{{Kind: console.Panic, Title: "Kernel panic - not syncing: fake", Lines: []string{"Kernel panic - not syncing: fake"}}}}
	for _, tc := range []struct {
		name   string
		script func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error)
		boot   error
		gated  bool // the watchdog reads the console late (fakeGuest.gate)
		// what the batch must be
		done           []string
		charged        string
		kernel, harmed bool // fault (the kernel's), harness
		wedged         bool
		hangs, crashes int
		sysrq          int
		// check looks at the recorded result of the charged case
		check func(r suites.CaseResult) string
	}{
		{name: "every result", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			for _, id := range s.ids {
				s.pass(id)
			}
			return s.end()
		}, done: ids},
		{name: "a case gone silent", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.pass(ids[0])
			s.start(ids[1])
			return g.silent(ctx)
		}, done: ids[:1], charged: ids[1], hangs: 1, sysrq: 1, check: func(r suites.CaseResult) string {
			if !r.Hung() || !strings.Contains(r.Error, "host watchdog") || !strings.Contains(r.Hang, "no hung-task, lockup or stall report") {
				return "want a hang found by the host watchdog, with the console's evidence"
			}
			return ""
		}},
		{name: "silent between cases", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.pass(ids[0])
			return g.silent(ctx)
		}, done: ids[:1], kernel: true, sysrq: 1},
		{name: "a hang the guest reports", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.start(ids[0])
			g.print(console.HungTask, "INFO: task splice:42 blocked for more than 5 seconds.")
			s.result(suites.StreamRecord{ID: ids[0], Error: suites.HungPrefix + ": past its 10s bound"})
			return g.silent(ctx)
		}, charged: ids[0], hangs: 1, sysrq: 1, check: func(r suites.CaseResult) string {
			if !strings.Contains(r.Hang, "blocked for more than 5 seconds") {
				return "the hang's evidence lacks the hung-task report"
			}
			return ""
		}},
		{name: "an oops under a case", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.start(ids[0])
			g.print(console.Oops, "Oops: 0000 [#1] PREEMPT SMP")
			s.result(suites.StreamRecord{ID: ids[0], Obs: &suites.Observation{Type: "ret", Value: "0"}})
			return g.silent(ctx)
		}, charged: ids[0], crashes: 1, check: func(r suites.CaseResult) string {
			if r.Crash == "" || !strings.Contains(r.Crash, "Oops: 0000") || !strings.Contains(r.Error, "carried on") {
				return "want a crash with the oops, not the observation made after it"
			}
			return ""
		}},
		// The second case oopses before the watchdog has read the
		// console for the first one's result: the oops is the second's.
		{name: "an oops in a later case, read late", gated: true, script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.pass(ids[0])
			s.start(ids[1])
			g.print(console.Oops, "Oops: 0000 [#1] PREEMPT SMP")
			close(g.gate)
			s.result(suites.StreamRecord{ID: ids[1], Obs: &suites.Observation{Type: "ret", Value: "0"}})
			return g.silent(ctx)
		}, done: ids[:1], charged: ids[1], crashes: 1, check: func(r suites.CaseResult) string {
			if !strings.Contains(r.Crash, "Oops: 0000") {
				return "want the second case crashed by the oops"
			}
			return ""
		}},
		// The case's own kernel log holds an oops the console never
		// shows: the case is charged with it, from the log.
		{name: "an oops only in the case's kernel log", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.start(ids[0])
			s.result(suites.StreamRecord{ID: ids[0], Obs: &suites.Observation{Type: "ret", Value: "0"}, Kmsg: []string{"<1> BUG: kernel NULL pointer dereference, address: 0000000000000008"}})
			s.start(ids[1])
			return g.silent(ctx)
		}, charged: ids[0], crashes: 1, check: func(r suites.CaseResult) string {
			if !strings.Contains(r.Crash, "NULL pointer dereference") || !strings.Contains(r.Crash, "kernel log") {
				return "want the crash from the case's kernel log"
			}
			return ""
		}},
		// The console shows the case's oops only after its result was
		// read: still the case's crash, not the kernel's between cases.
		{name: "an oops the console shows after the result", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.start(ids[0])
			s.result(suites.StreamRecord{ID: ids[0], Obs: &suites.Observation{Type: "ret", Value: "0"}, Kmsg: []string{"<1> Oops: 0000 [#1] PREEMPT SMP"}})
			s.start(ids[1])
			g.print(console.Oops, "Oops: 0000 [#1] PREEMPT SMP")
			return g.silent(ctx)
		}, charged: ids[0], crashes: 1, check: func(r suites.CaseResult) string {
			if !strings.Contains(r.Crash, "Oops: 0000") {
				return "want the oops as the first case's crash"
			}
			return ""
		}},
		// An oops after a case's result was judged and before the next
		// case started is no case's, but it is the kernel's.
		{name: "an oops between cases", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.pass(ids[0])
			<-g.recorded
			g.print(console.Oops, "Oops: 0000 [#1] PREEMPT SMP")
			s.start(ids[1])
			return g.silent(ctx)
		}, done: ids[:1], kernel: true},
		{name: "a panic mid-case", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.pass(ids[0])
			s.start(ids[1])
			g.mu.Lock()
			g.err = panicked
			g.mu.Unlock()
			return -1, panicked
		}, done: ids[:1], charged: ids[1], crashes: 1, check: func(r suites.CaseResult) string {
			if !strings.Contains(r.Crash, "Kernel panic - not syncing: fake") {
				return "want the panic's report as the crash"
			}
			return ""
		}},
		{name: "lost between cases", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.pass(ids[0])
			g.mu.Lock()
			g.err = panicked
			g.mu.Unlock()
			return -1, panicked
		}, done: ids[:1], kernel: true},
		{name: "a wedged case", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.start(ids[0])
			s.result(suites.StreamRecord{ID: ids[0], Obs: &suites.Observation{Type: "ret", Value: "0"}, Wedged: true})
			return g.silent(ctx)
		}, done: ids[:1], wedged: true},
		{name: "the harness fails", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.pass(ids[0])
			return -1, errors.New("ssh: disconnect by the host's network")
		}, done: ids[:1], harmed: true},
		{name: "the runner exits 1 after a whole stream", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			for _, id := range s.ids {
				s.pass(id)
			}
			s.end()
			return 1, nil
		}, done: ids, harmed: true},
		{name: "boot fails: the kernel", boot: &vm.Error{Outcome: vm.BootFailed, Msg: "init never reached the agent"}, kernel: true},
		{name: "boot fails: the host", boot: &vm.Error{Outcome: vm.QEMUMissing, Msg: "no qemu-system-x86_64"}, harmed: true},
		// Interrupted after a case's result was read (the next case's
		// start acknowledged, so the result is queued or recorded): the
		// result is kept.
		{name: "interrupted", script: func(ctx context.Context, g *fakeGuest, s *fakeStream) (int, error) {
			s.hello()
			s.pass(ids[0])
			s.start(ids[1])
			g.interrupt()
			return g.silent(ctx)
		}, done: ids[:1], harmed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			g := newFake(tc.script)
			g.interrupt = cancel
			g.recorded = make(chan string, len(ids))
			if tc.gated {
				g.gate = make(chan struct{})
			}
			byID := map[string]*suites.Case{}
			for _, id := range ids {
				byID[id] = &suites.Case{ID: id, Timeout: 10 * time.Millisecond}
			}
			var results []suites.CaseResult
			r := &runner{
				o: Options{Grace: 100 * time.Millisecond, OnResult: func(res suites.CaseResult) {
					results = append(results, res)
					g.recorded <- res.ID
				}},
				run:  &runs.Suite{},
				byID: byID,
				boot: func(context.Context, vm.BootOptions) (guest, error) {
					if tc.boot != nil {
						return nil, tc.boot
					}
					return g, nil
				},
			}
			b := r.once(ctx, ids)
			if !slices.Equal(b.done, tc.done) {
				t.Errorf("done %q, want %q", b.done, tc.done)
			}
			if b.charged != tc.charged {
				t.Errorf("charged %q, want %q", b.charged, tc.charged)
			}
			if (b.fault != nil) != tc.kernel || b.fault != nil && !vm.OutcomeOf(b.fault).KernelFault() {
				t.Errorf("kernel fault %v, want one: %v", b.fault, tc.kernel)
			}
			if (b.harness != nil) != tc.harmed || b.harness != nil && vm.OutcomeOf(b.harness).KernelFault() {
				t.Errorf("harness failure %v, want one: %v", b.harness, tc.harmed)
			}
			if b.wedged != tc.wedged {
				t.Errorf("wedged %v, want %v", b.wedged, tc.wedged)
			}
			if r.run.Hangs != tc.hangs || r.run.Crashes != tc.crashes {
				t.Errorf("%d hangs, %d crashes; want %d, %d", r.run.Hangs, r.run.Crashes, tc.hangs, tc.crashes)
			}
			if g.sysrq != tc.sysrq {
				t.Errorf("sysrq asked %d times, want %d", g.sysrq, tc.sysrq)
			}
			// Every case done or charged has its result, once, in order.
			want := slices.Clone(tc.done)
			if tc.charged != "" {
				want = append(want, tc.charged)
			}
			var got []string
			for _, res := range results {
				got = append(got, res.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("results for %q, want %q", got, want)
			}
			if tc.check != nil && len(results) > 0 {
				if msg := tc.check(results[len(results)-1]); msg != "" {
					t.Errorf("%s: %+v", msg, results[len(results)-1])
				}
			}
		})
	}
}
