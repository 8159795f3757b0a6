package results

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

func TestRunSchema(t *testing.T) {
	r := perfRecord()
	r.Dir = "/tmp/x"
	r.Candidate.Run.Results = []suites.CaseResult{
		{ID: "vmsplice/alias/read", Obs: &suites.Observation{Type: suites.TAliasing, Value: "copied"}},
		{ID: "splice/errors/same-pipe", Crash: "Kernel panic"},
	}
	r.Candidate.Run.Boots = []runs.Machine{{Accel: runs.TCG, CPUs: 1, MachineType: "pc"}}
	r.Verdict.Unmet = []Expectation{{Cases: "x/*", To: "y"}}
	r.PerPatch = &PerPatch{Columns: []PatchColumn{
		{Index: 1, Total: 2, Name: "0001.patch", Subject: "a", Status: PatchOK, Run: r.Candidate.Run, Introduced: []Change{{ID: "vmsplice/alias/read", From: "x", To: "y"}}},
		{Index: 2, Total: 2, Name: "0002.patch", Subject: "b", Status: PatchNoBuild, Reason: "fs/splice.c:1: error: x"},
	}}
	r.PerPatch.BuildMatrix(r.Baseline.Run.Results)
	// Fields written only under the instruction clock.
	r.Perf.Run.Level = perf.Quick.Counted().Record()
	r.Perf.Changes[0].DesignEffect = 1.4
	r.Fuzz = sampleFuzz()
	r.Fuzz.Fault = &runs.FuzzFault{Side: runs.Candidate, Error: "kernel panic", Program: r.Fuzz.Differences[0].Program}
	if err := schema.Record(r); err != nil {
		t.Fatalf("a record does not validate against its own schema: %v", err)
	}
	// Drift is caught: an unknown top-level field, a wrong type, a bad ID.
	for name, mutate := range map[string]func(string) string{
		"unknown field": func(s string) string { return strings.Replace(s, `"schema":2`, `"schema":2,"colour":"red"`, 1) },
		"bad schema":    func(s string) string { return strings.Replace(s, `"schema":2`, `"schema":3`, 1) },
		"bad case id":   func(s string) string { return strings.Replace(s, `"id":"vmsplice/alias/read"`, `"id":"Vmsplice"`, 1) },
	} {
		b, _ := r.marshalForTest()
		if err := schema.ValidateRun([]byte(mutate(string(b)))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func (r *Record) marshalForTest() ([]byte, error) { return json.Marshal(r) }
