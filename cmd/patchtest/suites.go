package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/remote"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

func newSuites() *cobra.Command {
	c := &cobra.Command{Use: "suites", Short: "List the test cases or run them on a kernel"}
	var patterns []string
	var asJSON bool

	list := &cobra.Command{
		Use:   "list [--suite GLOB]",
		Short: "List the cases: ID, what they do, what they pin down",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			cases, err := suites.Catalogue().Select(patterns...)
			if err != nil {
				return &exitError{code: 65, err: err}
			}
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, cs := range cases {
				fmt.Fprintf(w, "%s\t%s\n", cs.ID, cs.Desc)
			}
			fmt.Fprintf(w, "%d cases\n", len(cases))
			return w.Flush()
		},
	}
	list.Flags().StringSliceVar(&patterns, "suite", nil, "glob(s) selecting cases, e.g. 'vmsplice/*'")

	var f bootFlags
	run := &cobra.Command{
		Use:   "run --kernel K [--suite GLOB] [--json]",
		Short: "Run the cases in a guest and print their observations",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			stderr := c.ErrOrStderr()
			if _, err := suites.Catalogue().Select(patterns...); err != nil {
				return &exitError{code: vm.BadInput.ExitCode(), err: fmt.Errorf("--suite: %w", err)}
			}
			if err := f.prepare(c.Context(), stderr); err != nil {
				return err
			}
			out := c.OutOrStdout()
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			o := remote.Options{
				Boot: f.opts, Patterns: patterns,
				Notice: func(s string) { fmt.Fprintf(stderr, "patchtest: %s\n", s) },
			}
			if !asJSON {
				o.OnResult = func(r suites.CaseResult) {
					fmt.Fprintf(w, "%s\t%s\n", r.ID, describe(r))
				}
			}
			run, err := remote.RunSuites(c.Context(), o)
			w.Flush()
			if run != nil && asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if jerr := enc.Encode(run); jerr != nil {
					return jerr
				}
			}
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range run.Results {
				if len(r.Invariant) > 0 {
					failed++
				}
			}
			fmt.Fprintf(stderr, "patchtest: %d cases on %s: %v of guest time, %v wall, %d boot(s), %d crash(es), %d hang(s), %d invariant failure(s)\n",
				len(run.Results), run.Release, run.GuestTime.Round(time.Millisecond), run.Wall.Round(time.Millisecond), len(run.Boots), run.Crashes, run.Hangs, failed)
			for _, l := range append(run.BootReports, run.Failures...) {
				fmt.Fprintf(stderr, "patchtest: kernel: %s\n", l)
			}
			if failed > 0 || run.Crashes > 0 || run.Hangs > 0 || len(run.BootReports) > 0 || len(run.Failures) > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f.register(run.Flags())
	run.Flags().StringSliceVar(&patterns, "suite", nil, "glob(s) selecting cases, e.g. 'vmsplice/*'")
	run.Flags().BoolVar(&asJSON, "json", false, "print the run (boots and results) as JSON")
	var expectFile string
	diff := &cobra.Command{
		Use:   "diff BASE.json CANDIDATE.json [--expect expect.yaml]",
		Short: "Compare two 'suites run --json' outputs; with --expect, sort changes into declared and unexpected",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			var runs [2]runs.Suite
			for i, p := range args {
				b, err := os.ReadFile(p)
				if err != nil {
					return &exitError{code: 66, err: err}
				}
				if err := json.Unmarshal(b, &runs[i]); err != nil {
					return &exitError{code: 65, err: fmt.Errorf("%s: not a 'suites run --json' output: %w", p, err)}
				}
			}
			changes := results.Diff(runs[0].Results, runs[1].Results)
			out := c.OutOrStdout()
			fmt.Fprintf(out, "%d of %d cases changed (%s -> %s)\n", len(changes), len(runs[1].Results), runs[0].Release, runs[1].Release)
			if expectFile == "" {
				for _, ch := range changes {
					fmt.Fprintf(out, "  %s\n", ch)
				}
				return nil
			}
			e, err := results.LoadExpect(expectFile)
			if err != nil {
				return &exitError{code: 65, err: err}
			}
			v := e.Check(changes, results.Compared(runs[0].Results, runs[1].Results))
			for _, group := range []struct {
				title string
				list  []results.Change
			}{{"declared in " + expectFile, v.Expected}, {"UNEXPECTED", v.Unexpected}} {
				fmt.Fprintf(out, "%s (%d):\n", group.title, len(group.list))
				for _, ch := range group.list {
					fmt.Fprintf(out, "  %s\n", ch)
				}
			}
			if len(v.Unmet) > 0 {
				fmt.Fprintf(out, "declared but not seen (%d):\n", len(v.Unmet))
				for _, x := range v.Unmet {
					fmt.Fprintf(out, "  %s: %s -> %s\n", x.Cases, x.From, x.To)
				}
			}
			if len(v.Unexpected) > 0 || len(v.Unmet) > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	diff.Flags().StringVar(&expectFile, "expect", "", "the series' expect.yaml")
	c.AddCommand(list, run, diff)
	return c
}

// describe renders a result in one line.
func describe(r suites.CaseResult) string {
	s := ""
	switch {
	case r.NotRun != "":
		s = "NOT RUN " + r.NotRun
	case r.Crash != "":
		first, _, _ := strings.Cut(r.Crash, "\n")
		s = "CRASH " + first
	case r.Hang != "":
		first, _, _ := strings.Cut(r.Hang, "\n")
		s = "HUNG " + r.Error + " [" + first + "]"
	case r.Error != "":
		s = "ERROR " + r.Error
	case r.Obs != nil:
		s = r.Obs.String()
	}
	for _, inv := range r.Invariant {
		s += " INVARIANT FAILED: " + inv
	}
	if len(r.Kmsg) > 0 {
		s += fmt.Sprintf(" [kernel: %s]", r.Kmsg[0])
	}
	return s
}
