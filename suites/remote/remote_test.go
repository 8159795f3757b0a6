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

// The budget covers what the watchdog waits for every case (asked of a
// runner over the same cases, not restated), and for as many cases as the
// limits let crash or hang, the evidence, the reboot and a boot.
func TestBudget(t *testing.T) {
	c := func(id string, d time.Duration) *suites.Case { return &suites.Case{ID: id, Timeout: d} }
	cases := []*suites.Case{
		c("a/x/1", 0), c("a/x/2", 0), c("a/x/3", 0), c("a/x/4", 0), c("a/x/5", 0), // 5 in a/x: 3 may crash
		c("a/y/1", time.Second),
	}
	boot := time.Minute
	for _, tc := range []struct {
		name    string
		o       Options
		charges int
	}{
		{"default limits", Options{Grace: 5 * time.Second}, 3 + 1},
		{"one charge", Options{Grace: 5 * time.Second, ChargeLimit: 1}, 1},
		{"default grace", Options{}, 3 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{o: tc.o.withDefaults(), byID: map[string]*suites.Case{}}
			var waits time.Duration
			for _, c := range cases {
				r.byID[c.ID] = c
			}
			for _, c := range cases {
				waits += r.bound(c.ID)
			}
			if waits <= time.Duration(len(cases))*suites.DefaultTimeout {
				t.Fatalf("the watchdog waits %v for %d cases: less than their bounds", waits, len(cases))
			}
			want := waits + time.Duration(tc.charges+1)*(evidenceBound+boot)
			if got := Budget(cases, tc.o, boot); got != want {
				t.Errorf("Budget = %v, want %v (the watchdog's waits %v and %d crashes' reboots)", got, want, waits, tc.charges)
			}
		})
	}
}
