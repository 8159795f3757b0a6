// Package results compares what the suites observed on two kernels: the
// changed observations, and whether they are the ones a patch series
// declares it means to change (its expect.yaml).
package results

import (
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/fuzz"
)

// CaseOutcome renders a case result as one comparable string: the observation
// ("aliasing:copied"), or what went wrong ("crash", "error: hung…"). A
// timing note is left out: it qualifies, it does not change the value.
func CaseOutcome(r suites.CaseResult) string {
	switch {
	case r.NotRun != "":
		return "not run"
	case r.Crash != "":
		return "crash"
	case r.Error != "":
		return "error: " + r.Error
	case r.Obs != nil:
		return string(r.Obs.Type) + ":" + r.Obs.Value
	}
	return "missing"
}

// Change is one case whose outcome differs between the base and the
// candidate kernel.
type Change struct {
	ID   string `json:"id"`
	From string `json:"from"`
	To   string `json:"to"`
	// Why says why a case is not comparable (see NotComparable).
	Why string `json:"why,omitempty"`
}

func (c Change) String() string {
	s := fmt.Sprintf("%s: %s -> %s", c.ID, c.From, c.To)
	if c.Why != "" {
		s += " (" + c.Why + ")"
	}
	return s
}

// incomparable says why a case's two results cannot be compared: it did
// not run on a side, or it skipped on one side only (a kernel lacking an
// option, say). "" when they can be.
func incomparable(b, c suites.CaseResult) string {
	switch {
	case b.NotRun != "":
		return "not run on the baseline: " + b.NotRun
	case c.NotRun != "":
		return "not run on the candidate: " + c.NotRun
	}
	bs := b.Obs != nil && b.Obs.Type == suites.TSkip
	cs := c.Obs != nil && c.Obs.Type == suites.TSkip
	switch {
	case bs && !cs:
		return "skipped on the baseline only: " + b.Obs.Value
	case cs && !bs:
		return "skipped on the candidate only: " + c.Obs.Value
	}
	return ""
}

// NotComparable lists the cases present on both sides whose outcomes
// differ but cannot be compared (see incomparable), in case ID order.
func NotComparable(base, cand []suites.CaseResult) []Change {
	b, c := index(base), index(cand)
	var out []Change
	for id, br := range b {
		cr, ok := c[id]
		if !ok {
			if why := unfinished(c, id); why != "" {
				out = append(out, Change{ID: id, From: CaseOutcome(br), To: "missing", Why: "on the candidate, " + why})
			}
			continue
		}
		if why := incomparable(br, cr); why != "" && CaseOutcome(br) != CaseOutcome(cr) {
			out = append(out, Change{ID: id, From: CaseOutcome(br), To: CaseOutcome(cr), Why: why})
		}
	}
	for id, cr := range c {
		if _, ok := b[id]; !ok {
			if why := unfinished(b, id); why != "" {
				out = append(out, Change{ID: id, From: "missing", To: CaseOutcome(cr), Why: "on the baseline, " + why})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Compared lists, in base's order, the cases that ran on both sides and
// can be compared (see NotComparable): what expectations are checked
// against.
func Compared(base, cand []suites.CaseResult) []string {
	c := index(cand)
	var out []string
	for _, b := range base {
		if r, ok := c[b.ID]; ok && incomparable(b, r) == "" {
			out = append(out, b.ID)
		}
	}
	return out
}

// Diff lists the cases whose outcomes differ, in case ID order. A case
// present on one side only shows as "missing" on the other; cases that
// cannot be compared (NotComparable) are left out.
func Diff(base, cand []suites.CaseResult) []Change {
	b, c := index(base), index(cand)
	ids := map[string]bool{}
	for id := range b {
		ids[id] = true
	}
	for id := range c {
		ids[id] = true
	}
	var out []Change
	for id := range ids {
		from, to := "missing", "missing"
		br, bok := b[id]
		cr, cok := c[id]
		if bok && cok && incomparable(br, cr) != "" {
			continue
		}
		if (!bok && unfinished(b, id) != "") || (!cok && unfinished(c, id) != "") {
			continue // see NotComparable
		}
		if bok {
			from = CaseOutcome(br)
		}
		if cok {
			to = CaseOutcome(cr)
		}
		if from != to {
			out = append(out, Change{ID: id, From: from, To: to})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func index(rs []suites.CaseResult) map[string]suites.CaseResult {
	m := make(map[string]suites.CaseResult, len(rs))
	for _, r := range rs {
		m[r.ID] = r
	}
	return m
}

// Expectation is one change a series declares it makes: every case
// matching Cases (a glob) that ran goes from From to To. Empty From or To
// match anything. With Any set, one such case changing is enough.
type Expectation struct {
	Cases string `yaml:"cases" json:"cases"`
	From  string `yaml:"from" json:"from,omitempty"`
	To    string `yaml:"to" json:"to,omitempty"`
	// Any says the glob declares that at least one of its cases changes,
	// not each.
	Any bool   `yaml:"any" json:"any,omitempty"`
	Why string `yaml:"why" json:"why,omitempty"`
}

// Expect is a series' expect.yaml.
type Expect struct {
	Changes []Expectation `yaml:"changes"`
	// Perf declares the perf changes the series means to make.
	Perf []PerfExpectation `yaml:"perf"`
}

// LoadExpect reads an expect.yaml.
func LoadExpect(p string) (*Expect, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var e Expect
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	for i, c := range e.Changes {
		if c.Cases == "" {
			return nil, fmt.Errorf("%s: change %d has no cases pattern", p, i+1)
		}
		if _, err := path.Match(c.Cases, ""); err != nil {
			return nil, fmt.Errorf("%s: change %d: pattern %q: %w", p, i+1, c.Cases, err)
		}
	}
	for i, x := range e.Perf {
		if err := x.check(); err != nil {
			return nil, fmt.Errorf("%s: perf entry %d: %w", p, i+1, err)
		}
	}
	return &e, nil
}

func (x Expectation) matches(c Change) bool {
	ok, _ := path.Match(x.Cases, c.ID)
	return ok && outcomeMatches(x.From, c.From) && outcomeMatches(x.To, c.To)
}

// outcomeMatches says whether an outcome fits a declared one: empty
// matches anything; one with * or ? is a glob (a fuzz difference's
// outcomes carry counts and checksums: "-1 *", "* data=*"); else the
// outcome itself.
func outcomeMatches(want, got string) bool {
	if want == "" || want == got {
		return true
	}
	if !strings.ContainsAny(want, "*?") {
		return false
	}
	ok, _ := path.Match(want, got)
	return ok
}

// Verdict says how observed changes compare with the declared ones.
type Verdict struct {
	// Expected are changes some expectation declares.
	Expected []Change `json:"expected"`
	// Unexpected are changes no expectation declares: what a reviewer
	// must look at.
	Unexpected []Change `json:"unexpected"`
	// Unmet are expectations no change fulfilled.
	Unmet []Expectation `json:"unmet"`
}

// Check sorts changes by whether e declares them. ran lists the cases
// that ran comparably on both kernels: an expectation is unmet for each of
// its cases among them that did not change as declared (one entry per
// case, Cases naming it), or, with Any, when none did. An expectation none
// of whose cases ran says nothing about this run.
func (e *Expect) Check(changes []Change, ran []string) Verdict {
	var v Verdict
	byID := map[string]Change{}
	for _, c := range changes {
		byID[c.ID] = c
		found := false
		for _, x := range e.Changes {
			found = found || x.matches(c)
		}
		if found {
			v.Expected = append(v.Expected, c)
		} else {
			v.Unexpected = append(v.Unexpected, c)
		}
	}
	for _, x := range e.Changes {
		var missed []string
		hit := false
		for _, id := range ran {
			if ok, _ := path.Match(x.Cases, id); !ok {
				continue
			}
			if c, ok := byID[id]; ok && x.matches(c) {
				hit = true
			} else {
				missed = append(missed, id)
			}
		}
		switch {
		case x.Any && !hit && len(missed) > 0:
			v.Unmet = append(v.Unmet, x)
		case !x.Any:
			for _, id := range missed {
				u := x
				u.Cases = id
				v.Unmet = append(v.Unmet, u)
			}
		}
	}
	return v
}

// CheckCatalogue reports an expectation whose glob names no case of
// cat, which would otherwise be met by never being tested.
func (e *Expect) CheckCatalogue(cat *suites.Registry) error {
	for i, x := range e.Changes {
		if _, err := cat.Select(x.Cases); err != nil {
			// A peer suite's subtests are known only when it runs: a
			// pattern below a peer case is checked against that case.
			parts := strings.Split(x.Cases, "/")
			if len(parts) > 3 && parts[0] == "peer" {
				if _, perr := cat.Select(strings.Join(parts[:3], "/")); perr == nil {
					continue
				}
			}
			// A fuzz difference's ID is fuzz/CALL/SHAPE: the pattern must
			// name a call the fuzzer makes.
			if len(parts) == 3 && parts[0] == "fuzz" {
				if slices.ContainsFunc(fuzz.Ops(), func(op string) bool { ok, _ := path.Match(parts[1], op); return ok }) {
					continue
				}
				return fmt.Errorf("expectation %d (%s): the fuzzer makes no call %q (it makes %s)", i+1, x.Cases, parts[1], strings.Join(fuzz.Ops(), ", "))
			}
			return fmt.Errorf("expectation %d (%s): %w", i+1, x.Cases, err)
		}
	}
	return nil
}

// unfinished says why a subtest missing from rs cannot be compared: the
// case it belongs to (a peer suite's) hung, crashed or did not run there,
// so its later subtests never reported. "" otherwise.
func unfinished(rs map[string]suites.CaseResult, id string) string {
	i := strings.LastIndex(id, "/")
	if i < 0 {
		return ""
	}
	parent, ok := rs[id[:i]]
	if !ok || parent.Obs != nil {
		return ""
	}
	if parent.NotRun != "" {
		return id[:i] + " did not run: " + parent.NotRun
	}
	return id[:i] + " did not finish: " + firstLine(CaseOutcome(parent))
}
