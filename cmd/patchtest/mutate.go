package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/cmd/internal/pipeline"
	"github.com/patchtest/patchtest/kernels/mutate"
	"github.com/patchtest/patchtest/results"
)

func newMutate() *cobra.Command {
	var (
		f  runFlags
		mo pipeline.MutateOptions
	)
	c := &cobra.Command{
		Use:   "mutate [--file fs/splice.c] [--scope entry|file] [--operators OP,...] [--max N] [--suite GLOB]",
		Short: "Mutation testing of the catalogue: one-line faults in the syscalls' entry points, each built and run against stock",
		Long: `mutate makes mutants of a kernel source file's syscall entry points (the
splice, vmsplice, tee, sendfile and copy_file_range functions of
fs/splice.c and fs/read_write.c; --scope file: every function of the
file) with the operators ` + strings.Join(mutate.Operators, ", ") + `,
builds each on --source in the one source tree (each build recompiles the
one file), runs the catalogue on it against the stock kernel, and
reports each mutant as killed (an observation changed or the kernel
misbehaved, with what killed it), survived, did-not-build, or
harness-error, with the score: killed / (killed + survived). With --fuzz
each mutant is fuzzed against stock too, and the score is given for the
catalogue alone, fuzzing alone and both. A survivor
is a question the catalogue does not ask, or an equivalent mutant.
--max N runs N mutants spread over the file; each costs a rebuild of the
file (about 25 s on 2 cores) and two catalogue runs.

Exit status: 0 when every mutant that built was killed, 1 when one
survived, 2 when mutation could not be run.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cfg, dir, err := loadRunConfig(f.configFile, f.boot.opts.CacheDir)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := f.boot.prepareEvents(c.ErrOrStderr()); err != nil {
				return &exitError{code: 2, err: err}
			}
			o, err := pipeline.Configure(cfg, dir, f.boot.opts, f.given(c.Flags(), false))
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			view := results.NewProgress(c.ErrOrStderr(), false, false)
			o.Events = view.Event
			mo.Run, mo.OutDir = o, o.OutDir
			res, err := pipeline.Mutate(c.Context(), mo)
			view.Close()
			if res != nil {
				printMutants(c.OutOrStdout(), res)
				fmt.Fprintf(c.ErrOrStderr(), "patchtest: mutants in %s (mutate.json, a series per mutant)\n", res.Dir)
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			if _, survived, _ := res.Score(); survived > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f.register(c.Flags())
	f.registerSelection(c.Flags())
	c.Flags().StringVar(&mo.File, "file", "fs/splice.c", "the kernel source file to mutate (fs/splice.c or fs/read_write.c)")
	c.Flags().StringSliceVar(&mo.Operators, "operators", nil, "operators to use (default all: "+strings.Join(mutate.Operators, ",")+")")
	c.Flags().StringVar(&mo.Scope, "scope", pipeline.ScopeEntry, "where mutants go: entry (the syscalls' entry points) or file (every function of --file)")
	c.Flags().IntVar(&mo.Max, "max", 0, "run at most N mutants, spread over the file (default all)")
	c.Flags().DurationVar(&f.fuzz, "fuzz", 0, "also fuzz each mutant against stock this long after the catalogue, and say which killed it: the catalogue, fuzzing or both")
	c.Flags().Uint64Var(&f.fuzzSeed, "fuzz-seed", 0, "seed of the fuzzing programs (default: the configuration's, 1)")
	return c
}

// printMutants is the terminal table: each mutant's fate, then the score
// by operator.
func printMutants(w io.Writer, r *pipeline.MutateResult) {
	type tally struct{ killed, survived, nobuild, harness int }
	by := map[string]*tally{}
	for _, m := range r.Mutants {
		t := by[m.Operator]
		if t == nil {
			t = &tally{}
			by[m.Operator] = t
		}
		why := strings.Join(m.By, "; ")
		switch m.Verdict {
		case pipeline.Killed:
			t.killed++
		case pipeline.Survived:
			t.survived++
		case pipeline.NoBuild:
			t.nobuild++
			why = m.Reason
		default:
			t.harness++
			why = m.Reason
		}
		verdict := m.Verdict
		switch {
		case m.Catalogue && m.Fuzz:
			verdict += " (catalogue+fuzz)"
		case m.Fuzz:
			verdict += " (fuzz only)"
		}
		fmt.Fprintf(w, "%-13s %s:%d %s: %s\n", verdict, m.File, m.Line, m.Func, strings.TrimSpace(m.New))
		if why != "" {
			fmt.Fprintf(w, "              %s\n", why)
		}
	}
	fmt.Fprintf(w, "\n%-16s %7s %9s %14s %14s\n", "operator", "killed", "survived", "did-not-build", "harness-error")
	for _, op := range mutate.Operators {
		if t := by[op]; t != nil {
			fmt.Fprintf(w, "%-16s %7d %9d %14d %14d\n", op, t.killed, t.survived, t.nobuild, t.harness)
		}
	}
	k, s, pct := r.Score()
	fmt.Fprintf(w, "score: %d killed of %d that built and ran (%.0f%%) in %v\n", k, k+s, pct, r.Elapsed.Round(1e9))
	if slices.ContainsFunc(r.Mutants, func(m pipeline.MutantResult) bool { return m.Fuzz }) || r.Fuzzed {
		cat, fz, n := r.ScoreBy()
		fmt.Fprintf(w, "by the catalogue alone: %d of %d; by fuzzing alone: %d of %d; by both together: %d of %d\n", cat, n, fz, n, k, n)
	}
}
