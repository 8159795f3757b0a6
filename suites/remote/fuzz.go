package remote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchtest/patchtest/suites/fuzz"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

// FuzzOptions configure a differential fuzzing run.
type FuzzOptions struct {
	Baseline, Candidate vm.BootOptions
	// Duration is the time spent generating and running programs;
	// confirming and minimizing the differences found comes after it.
	Duration time.Duration
	Seed     uint64
	// CorpusFile keeps the programs that reached new outcomes, across
	// runs; none when empty.
	CorpusFile string
	// MaxDifferences bounds how many distinct differences are minimized
	// (DefaultMaxDifferences when zero).
	MaxDifferences int
	// Notice receives a line now and then.
	Notice func(string)
}

// Fuzzing's bounds.
const (
	DefaultMaxDifferences = 24
	// minimizeTries bounds the programs run to minimize one difference.
	minimizeTries = 120
	// programBound is how long the host waits for a program's trace: the
	// guest's own bounds, and slack for a slow TCG guest.
	programBound = fuzz.Bound + 40*time.Second
	corpusMax    = 4000
)

// RunFuzz boots both kernels and runs the same programs on each, both at
// once, until o.Duration is spent; each difference in their traces is
// confirmed (a program whose trace changes between two runs on one kernel
// is flaky, never a finding), minimized and given a C reproducer. A
// kernel lost under a program ends the run with Fault set; the error is
// the harness's.
func RunFuzz(ctx context.Context, o FuzzOptions) (*runs.Fuzz, error) {
	notice := o.Notice
	if notice == nil {
		notice = func(string) {}
	}
	if o.MaxDifferences <= 0 {
		o.MaxDifferences = DefaultMaxDifferences
	}
	run := &runs.Fuzz{Seed: o.Seed, Budget: o.Duration, CorpusFile: o.CorpusFile,
		Coverage: "outcome signatures: no KCOV in the guest kernel"}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Guest time counts instructions: a blocked call costs the guest's
	// bound in its own time, not the host's, and timing cannot reach a
	// trace.
	for _, b := range []*vm.BootOptions{&o.Baseline, &o.Candidate} {
		if b.Clock == "" {
			b.Clock = vm.Instructions
		}
	}
	sides := []*fuzzSide{{role: runs.Baseline}, {role: runs.Candidate}}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, b := range []vm.BootOptions{o.Baseline, o.Candidate} {
		wg.Go(func() { errs[i] = sides[i].start(ctx, b) })
	}
	wg.Wait()
	defer func() {
		for _, s := range sides {
			s.close()
		}
	}()
	for i, err := range errs {
		if err != nil {
			return run, &SideError{Side: sides[i].role, Err: err}
		}
	}
	f := &fuzzer{o: o, run: run, sides: sides, gen: fuzz.NewGenerator(o.Seed), seen: map[string]bool{}, sigs: map[string]bool{}, edges: map[uint32]bool{}}
	corpus := loadCorpus(o.CorpusFile)
	f.replay = len(corpus)
	f.order = rand.New(rand.NewPCG(o.Seed, 1)).Perm(len(corpus))
	start := time.Now()
	deadline := start.Add(o.Duration)
	var found []pending
	classes := map[string]bool{}
	lastNote := start
	for i := 0; time.Now().Before(deadline); i++ {
		if ctx.Err() != nil {
			return run, &vm.Error{Outcome: vm.Interrupted, Msg: "fuzzing interrupted", Err: context.Cause(ctx)}
		}
		f.endReplay(i, time.Since(start))
		p := f.next(i, corpus)
		res, err := f.bothResults(ctx, p)
		if err != nil {
			return f.fault(p, err)
		}
		tr := [2]fuzz.Trace{res[0].Trace, res[1].Trace}
		run.Programs++
		f.noteCoverage(res[1])
		if f.learn(p, tr[1], res[1].Cover) && i >= f.replay {
			corpus = append(corpus, p)
		}
		if d := fuzz.FirstDiff(tr[0], tr[1]); d >= 0 {
			_, bo := fuzz.Step(tr[0].Line(d))
			_, co := fuzz.Step(tr[1].Line(d))
			key := fuzz.Op(tr[1].Line(d)) + " " + fuzz.Class(bo) + " " + fuzz.Class(co)
			if !classes[key] && len(found) < o.MaxDifferences {
				classes[key] = true
				found = append(found, pending{p, d})
			}
		}
		if time.Since(lastNote) > 30*time.Second {
			lastNote = time.Now()
			notice(fmt.Sprintf("fuzzing: %d programs, %d differences so far", run.Programs, len(found)))
		}
	}
	run.Wall = time.Since(start)
	run.PerSecond = float64(run.Programs) / run.Wall.Seconds()
	run.Signatures = len(f.sigs)
	run.Edges = len(f.edges)
	if f.funcs > 0 {
		run.Coverage = fmt.Sprintf("KCOV on the candidate: %d blocks and edges reached in %d splice-family functions, and outcome signatures", len(f.edges), f.funcs)
	} else if f.noCover != "" {
		run.Coverage = "outcome signatures: " + f.noCover
	}
	run.Corpus = len(corpus)
	for _, pd := range found {
		d, err := f.settle(ctx, pd)
		if err != nil {
			var fe *fuzzErr
			if errors.As(err, &fe) {
				return f.fault(fe.p, fe.err)
			}
			return run, err
		}
		if d == nil {
			run.Flaky++
			continue
		}
		if slices.ContainsFunc(run.Differences, func(x runs.FuzzDifference) bool { return x.ID == d.ID }) {
			continue
		}
		run.Differences = append(run.Differences, *d)
		notice("fuzzing: difference " + d.ID)
	}
	if err := saveCorpus(o.CorpusFile, corpus); err != nil {
		notice(fmt.Sprintf("fuzz corpus not saved: %v", err))
	}
	return run, nil
}

type pending struct {
	p    fuzz.Prog
	step int
}

type fuzzer struct {
	o     FuzzOptions
	run   *runs.Fuzz
	sides []*fuzzSide
	gen   *fuzz.Generator
	seen  map[string]bool // program hashes run
	sigs  map[string]bool // features seen (fuzz.Features)
	edges map[uint32]bool // KCOV signal seen on the candidate
	// funcs is how many family functions the candidate's KCOV covers
	// (0 without KCOV); noCover says why there is none.
	funcs   int
	noCover string
	// replay is how many programs of the corpus file run first, in
	// order (a permutation from the seed).
	replay int
	order  []int
}

// replayShare is the part of the budget the corpus's replay may take: a
// corpus kept across many runs (up to corpusMax programs, 200 s at 20/s)
// would otherwise leave a short run no time for programs of its own.
const replayShare = 2

// endReplay ends the corpus's replay at program i once elapsed has
// reached 1/replayShare of the budget; the programs not replayed are
// still there to be mutated.
func (f *fuzzer) endReplay(i int, elapsed time.Duration) {
	if i < f.replay && elapsed >= f.o.Duration/replayShare {
		f.replay = i
	}
}

// next is the i-th program: the corpus first, then new programs and
// variants of kept ones in turn.
func (f *fuzzer) next(i int, corpus []fuzz.Prog) fuzz.Prog {
	if i < f.replay {
		return corpus[f.order[i]]
	}
	if len(corpus) > 0 && i%2 == 1 {
		return f.gen.Mutate(corpus[int(uint(i*2654435761)%uint(len(corpus)))])
	}
	return f.gen.Generate()
}

// noteCoverage records whether the candidate has KCOV.
func (f *fuzzer) noteCoverage(r fuzz.Result) {
	if r.CoverFuncs > 0 {
		f.funcs = r.CoverFuncs
	} else if r.NoCover != "" {
		f.noCover = r.NoCover
	}
}

// learn records the trace's outcome signatures and the program's KCOV
// signal, and reports whether it reached something no earlier program
// had.
func (f *fuzzer) learn(p fuzz.Prog, tr fuzz.Trace, cover []uint32) bool {
	h := p.Hash()
	if f.seen[h] {
		return false
	}
	f.seen[h] = true
	fresh := false
	for _, sig := range fuzz.Features(p, tr) {
		if !f.sigs[sig] {
			f.sigs[sig] = true
			fresh = true
		}
	}
	for _, e := range cover {
		if !f.edges[e] {
			f.edges[e] = true
			fresh = true
		}
	}
	return fresh
}

// fuzzErr is a kernel lost under a program.
type fuzzErr struct {
	side int
	p    fuzz.Prog
	err  error
}

func (e *fuzzErr) Error() string { return e.err.Error() }

// both runs p on both kernels at once and returns its traces.
func (f *fuzzer) both(ctx context.Context, p fuzz.Prog) ([2]fuzz.Trace, error) {
	res, err := f.bothResults(ctx, p)
	return [2]fuzz.Trace{res[0].Trace, res[1].Trace}, err
}

// bothResults runs p on both kernels at once.
func (f *fuzzer) bothResults(ctx context.Context, p fuzz.Prog) ([2]fuzz.Result, error) {
	var res [2]fuzz.Result
	var errs [2]error
	var wg sync.WaitGroup
	for i, s := range f.sides {
		wg.Go(func() { res[i], errs[i] = s.exec(ctx, p) })
	}
	wg.Wait()
	if errs[0] != nil && errs[1] != nil {
		return res, bothLost(p, errs)
	}
	for i, err := range errs {
		if err != nil {
			return res, &fuzzErr{side: i, p: p, err: err}
		}
	}
	return res, nil
}

// bothLost is what a program that lost both guests at once means. With
// a kernel report (a panic, an oops) from either, the kernel's fault, the
// candidate's where it has one; with none, the fuzzer's own: its bounds
// let a program exhaust the guest (as a memfd grown without limit did,
// until the OOM killer took the fuzz server), which is no evidence about
// either kernel, so it is a harness error that names the program.
func bothLost(p fuzz.Prog, errs [2]error) error {
	for _, i := range []int{1, 0} {
		var ve *vm.Error
		if errors.As(errs[i], &ve) && (ve.Outcome == vm.KernelPanic || ve.Outcome == vm.KernelReport) {
			return &fuzzErr{side: i, p: p, err: errs[i]}
		}
	}
	for _, err := range errs {
		var ve *vm.Error
		if errors.As(err, &ve) && (ve.Outcome == vm.Interrupted || ve.Outcome == vm.Infrastructure) {
			return err
		}
	}
	var calls []string
	for _, c := range p.Calls {
		calls = append(calls, c.String())
	}
	return &vm.Error{Outcome: vm.Infrastructure, Err: errs[1],
		Msg: fmt.Sprintf("a fuzz program lost both guests and neither kernel reported a fault (the fuzzer's bounds, not a finding): %s; baseline: %v", strings.Join(calls, "; "), errs[0])}
}

func (f *fuzzer) fault(p fuzz.Prog, err error) (*runs.Fuzz, error) {
	var fe *fuzzErr
	if !errors.As(err, &fe) {
		return f.run, err
	}
	var ve *vm.Error
	if errors.As(fe.err, &ve) && (ve.Outcome == vm.Interrupted || ve.Outcome == vm.Infrastructure) {
		return f.run, fe.err
	}
	f.run.Fault = &runs.FuzzFault{Side: f.sides[fe.side].role, Error: fe.err.Error(), Program: p.Record()}
	return f.run, nil
}

// settle confirms a difference (each kernel gives its own trace again),
// minimizes it and writes its reproducer; nil when it is flaky.
func (f *fuzzer) settle(ctx context.Context, pd pending) (*runs.FuzzDifference, error) {
	first, err := f.both(ctx, pd.p)
	if err != nil {
		return nil, err
	}
	again, err := f.both(ctx, pd.p)
	if err != nil {
		return nil, err
	}
	if fuzz.FirstDiff(first[0], again[0]) >= 0 || fuzz.FirstDiff(first[1], again[1]) >= 0 || fuzz.FirstDiff(first[0], first[1]) < 0 {
		return nil, nil
	}
	op := fuzz.Op(first[1].Line(fuzz.FirstDiff(first[0], first[1])))
	var oracleErr error
	differs := func(q fuzz.Prog) bool {
		if oracleErr != nil {
			return false
		}
		tr, err := f.both(ctx, q)
		if err != nil {
			oracleErr = err
			return false
		}
		d := fuzz.FirstDiff(tr[0], tr[1])
		return d >= 0 && fuzz.Op(tr[1].Line(d)) == op
	}
	min := fuzz.Minimize(pd.p, differs, minimizeTries)
	if oracleErr != nil {
		return nil, oracleErr
	}
	// The minimized program's traces, twice, must agree with themselves.
	a, err := f.both(ctx, min)
	if err != nil {
		return nil, err
	}
	b, err := f.both(ctx, min)
	if err != nil {
		return nil, err
	}
	step := fuzz.FirstDiff(a[0], a[1])
	if step < 0 || fuzz.FirstDiff(a[0], b[0]) >= 0 || fuzz.FirstDiff(a[1], b[1]) >= 0 {
		return nil, nil
	}
	call, _ := fuzz.Step(a[1].Line(step))
	if call == "" {
		call, _ = fuzz.Step(a[0].Line(step))
	}
	id := "fuzz/" + op + "/" + shapeID(min)
	d := &runs.FuzzDifference{ID: id, Step: step, Call: call, Baseline: a[0], Candidate: a[1],
		Program: min.Record(), Original: len(pd.p.Calls), File: runs.FuzzFile(id)}
	notes := []string{
		fmt.Sprintf("First difference at line %d, %s:", step, call),
		"  baseline:  " + a[0].Line(step),
		"  candidate: " + a[1].Line(step),
		fmt.Sprintf("Minimized from %d calls (seed %d).", len(pd.p.Calls), f.o.Seed),
	}
	d.CSource = fuzz.CSource(min, "patchtest fuzz reproducer: "+id, notes)
	return d, nil
}

// shapeID is the program's shape, shortened to a digest when long.
func shapeID(p fuzz.Prog) string {
	s := p.Shape()
	if len(s) > 60 {
		return s[:40] + "-" + p.Hash()
	}
	return s
}
