package remote

import (
	"encoding/json"
	"testing"

	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/suites/runs/runstest"
	"github.com/patchtest/patchtest/vm"
)

// TestDescribeKeepsEveryField: the run model's machine has the runner's
// JSON, field for field, so run.json is what it was and nothing the
// runner knows is dropped.
func TestDescribeKeepsEveryField(t *testing.T) {
	var info vm.Info
	runstest.Fill(&info)
	want, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(Describe(info))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Describe loses or renames fields:\n got %s\nwant %s", got, want)
	}
}

// The run model's names for accelerators and the instruction clock are
// the runner's.
func TestRunModelNamesAreTheRunners(t *testing.T) {
	if runs.KVM != string(vm.KVM) || runs.TCG != string(vm.TCG) || runs.InstructionClock != string(vm.Instructions) {
		t.Errorf("runs has %q %q %q; vm %q %q %q", runs.KVM, runs.TCG, runs.InstructionClock, vm.KVM, vm.TCG, vm.Instructions)
	}
	if !Describe(vm.Info{Clock: string(vm.Instructions) + " shift=0,sleep=off"}).Counted() || Describe(vm.Info{Clock: "real"}).Counted() {
		t.Error("Counted does not follow the clock")
	}
}
