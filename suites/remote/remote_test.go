package remote

import (
	"testing"
	"time"

	"github.com/patchtest/patchtest/suites"
)

func TestGroup(t *testing.T) {
	for id, want := range map[string]string{
		"vmsplice/alias/read":            "vmsplice/alias",
		"splice/integrity/file-pipe-x/y": "splice/integrity",
		"odd":                            "odd",
	} {
		if got := group(id); got != want {
			t.Errorf("group(%q) = %q, want %q", id, got, want)
		}
	}
}

// The budget covers every case's bound and grace, and a crash's reboot
// for as many cases as the limits let crash.
func TestBudget(t *testing.T) {
	c := func(id string, d time.Duration) *suites.Case { return &suites.Case{ID: id, Timeout: d} }
	cases := []*suites.Case{
		c("a/x/1", 0), c("a/x/2", 0), c("a/x/3", 0), c("a/x/4", 0), c("a/x/5", 0), // 5 in a/x: 3 may crash
		c("a/y/1", time.Second),
	}
	o := Options{Grace: 5 * time.Second}
	boot := time.Minute
	want := 5*(suites.DefaultTimeout+5*time.Second) + (time.Second + 5*time.Second) + time.Duration(3+1+1)*(evidenceBound+boot)
	if got := Budget(cases, o, boot); got != want {
		t.Errorf("Budget = %v, want %v", got, want)
	}
	o.ChargeLimit = 1
	want -= 3 * (evidenceBound + boot)
	if got := Budget(cases, o, boot); got != want {
		t.Errorf("Budget with one charge = %v, want %v", got, want)
	}
}
