package fault

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

type benchSide struct{ side string }

func (e benchSide) Error() string     { return e.side + " kernel, benchmark x: lost" }
func (e benchSide) FaultSide() string { return e.side }

func TestClass(t *testing.T) {
	panicked := &Error{Outcome: KernelPanic, Msg: "kernel panic"}
	for _, tc := range []struct {
		name    string
		err     error
		outcome Outcome
		side    string
	}{
		{"a plain error is the harness's", errors.New("disk full"), Infrastructure, ""},
		{"an Error wrapped", fmt.Errorf("boot: %w", panicked), KernelPanic, ""},
		{"a side's panic", OnSide("candidate", fmt.Errorf("boot: %w", panicked)), KernelPanic, "candidate"},
		{"a side wrapped again", fmt.Errorf("run: %w", OnSide("baseline", &Error{Outcome: BadInput})), BadInput, "baseline"},
		{"a side in a join", errors.Join(errors.New("x"), OnSide("candidate", context.Canceled)), Infrastructure, "candidate"},
		{"a producer's own sided error", fmt.Errorf("perf: %w", benchSide{"candidate"}), Infrastructure, "candidate"},
		{"text naming a side is not a side", errors.New("candidate kernel: build failed"), Infrastructure, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OutcomeOf(tc.err); got != tc.outcome {
				t.Errorf("OutcomeOf = %v, want %v", got, tc.outcome)
			}
			if got := SideOf(tc.err); got != tc.side {
				t.Errorf("SideOf = %q, want %q", got, tc.side)
			}
		})
	}
	if OnSide("baseline", nil) != nil {
		t.Error("OnSide(nil) is not nil")
	}
	if got := OnSide("candidate", errors.New("x")).Error(); got != "candidate kernel: x" {
		t.Errorf("message %q", got)
	}
	for _, o := range Outcomes() {
		if o.String() == "" || o.ExitCode() == 0 {
			t.Errorf("outcome %d: name %q, exit %d", int(o), o, o.ExitCode())
		}
	}
}
