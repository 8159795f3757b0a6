package runs

import (
	"slices"
	"testing"
	"time"
)

func TestAbsorb(t *testing.T) {
	a := &Suite{Boots: []Machine{{Accel: TCG}}, Crashes: 1, BootReports: []string{"WARNING: x"}, GuestTime: time.Second, Wall: 3 * time.Second}
	b := &Suite{Release: "6.12", Boots: []Machine{{Accel: TCG}}, Hangs: 1, BootReports: []string{"WARNING: x", "BUG: y"}, Failures: []string{"lost"},
		Incomplete: true, Budget: time.Minute, GuestTime: 2 * time.Second, Wall: 2 * time.Second}
	a.Absorb(b)
	if a.Release != "6.12" || len(a.Boots) != 2 || a.Crashes != 1 || a.Hangs != 1 || !a.Incomplete || a.Budget != time.Minute {
		t.Errorf("absorbed %+v", a)
	}
	if !slices.Equal(a.BootReports, []string{"WARNING: x", "BUG: y"}) || !slices.Equal(a.Failures, []string{"lost"}) {
		t.Errorf("reports %q, failures %q: each title once, every failure", a.BootReports, a.Failures)
	}
	if a.GuestTime != 3*time.Second || a.Wall != 3*time.Second {
		t.Errorf("guest time %v (want the sum), wall %v (want the longer)", a.GuestTime, a.Wall)
	}
}

func TestCounted(t *testing.T) {
	icount := Machine{Clock: "icount shift=0,sleep=off"}
	for _, tc := range []struct {
		run  *Perf
		want bool
	}{
		{nil, false},
		{&Perf{}, false},
		{&Perf{Boots: []Machine{icount, icount}}, true},
		{&Perf{Boots: []Machine{icount, {Clock: "real"}}}, false},
	} {
		if got := tc.run.Counted(); got != tc.want {
			t.Errorf("Counted(%+v) = %v", tc.run, got)
		}
	}
}

func TestFuzzFile(t *testing.T) {
	if got := FuzzFile("fuzz/vmsplice/pipe2-vmsplice read"); got != "fuzz/vmsplice_pipe2-vmsplice_read.c" {
		t.Errorf("FuzzFile = %q", got)
	}
}
