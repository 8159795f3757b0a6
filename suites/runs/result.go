package runs

import (
	"strings"
	"time"
)

// ObsType is the type of an Observation's value; package suites names
// the types.
type ObsType string

// Observation is what a case saw: a small typed value that compares
// equal across kernels exactly when the behaviour is the same.
type Observation struct {
	Type  ObsType `json:"type"`
	Value string  `json:"value"`
	// Note qualifies a value that is not fully deterministic (timing).
	Note string `json:"note,omitempty"`
}

func (o Observation) String() string {
	s := string(o.Type) + ":" + o.Value
	if o.Note != "" {
		s += " (" + o.Note + ")"
	}
	return s
}

// CaseResult is a case's outcome as the host records it.
type CaseResult struct {
	ID        string        `json:"id"`
	Obs       *Observation  `json:"obs,omitempty"`
	Invariant []string      `json:"invariant,omitempty"`
	Error     string        `json:"error,omitempty"`
	Duration  time.Duration `json:"duration_ns"`
	Kmsg      []string      `json:"kmsg,omitempty"`
	// Crash is the kernel's report when the case brought the kernel down.
	Crash string `json:"crash,omitempty"`
	// Hang is the evidence the host gathered when the case hung: the
	// kernel's hung-task, lockup and stall reports and the blocked-task
	// dump from the console.
	Hang string `json:"hang,omitempty"`
	// NotRun says why the case has no result of its own: the kernel
	// crashed in earlier cases of its group, did not boot again, the run
	// was interrupted or ran out of time.
	NotRun string `json:"not_run,omitempty"`
	// Wedged is set when the case left the guest unable to go on; the
	// cases after it ran in a fresh guest.
	Wedged bool `json:"wedged,omitempty"`
	// Metrics are figures the case measured (a peer stressor's rates).
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Subs are the case's subtests as the guest sent them; the host
	// records each as a case of its own (Expand) and clears them.
	Subs []SubResult `json:"-"`
}

// SubResult is one subtest of a case: it becomes the case ID/Name.
type SubResult struct {
	Name      string       `json:"name"`
	Obs       *Observation `json:"obs,omitempty"`
	Invariant []string     `json:"invariant,omitempty"`
	// NotRun says why the subtest has no result of its own (the program
	// hung in it, say).
	NotRun string `json:"not_run,omitempty"`
}

// Expand returns the case's result followed by one result per subtest,
// each with the ID case/name; the first has no subtests left.
func (r CaseResult) Expand() []CaseResult {
	subs := r.Subs
	r.Subs = nil
	out := []CaseResult{r}
	for _, s := range subs {
		out = append(out, CaseResult{ID: r.ID + "/" + s.Name, Obs: s.Obs, Invariant: s.Invariant, NotRun: s.NotRun})
	}
	return out
}

// Hung reports whether the case did not finish within its bound.
func (r CaseResult) Hung() bool { return strings.HasPrefix(r.Error, HungPrefix) }

// HungPrefix starts the Error of a case that did not finish in time.
const HungPrefix = "hung"
