package results

import (
	"strings"
	"testing"

	"github.com/patchtest/patchtest/results/schema"
)

// Night by night: a change appears (new, with its window), stays
// (present, first seen that night), goes away (fixed); a flaky case is
// never new.
func TestBuildMorning(t *testing.T) {
	night := func(id, commit string, o map[string]string) NightOutcomes {
		return NightOutcomes{RunID: id, Commit: commit, Outcomes: o}
	}
	n1 := night("r1", "aaaaaaaaaaaaaaaa", map[string]string{"a/b/x": "shared", "a/b/f": "1"})
	n2 := night("r2", "bbbbbbbbbbbbbbbb", map[string]string{"a/b/x": "copied", "a/b/f": "2"})
	n3 := night("r3", "cccccccccccccccc", map[string]string{"a/b/x": "copied", "a/b/f": "1"})
	n4 := night("r4", "dddddddddddddddd", map[string]string{"a/b/x": "shared", "a/b/f": "1"})
	flaky := map[string]bool{"a/b/f": true}

	m := BuildMorning([]NightOutcomes{n1}, n2, nil, flaky, nil)
	if len(m.New) != 1 || m.New[0].ID != "a/b/x" || m.New[0].Window != "aaaaaaaaaaaa..bbbbbbbbbbbb" || !m.Anything() {
		t.Errorf("night 2: %+v", m)
	}
	m = BuildMorning([]NightOutcomes{n1, n2}, n3, nil, flaky, nil)
	if len(m.New) != 0 || len(m.Present) != 1 || m.Present[0].Since != "r2" || m.Present[0].Window != "aaaaaaaaaaaa..bbbbbbbbbbbb" || m.Anything() {
		t.Errorf("night 3: %+v", m)
	}
	m = BuildMorning([]NightOutcomes{n1, n2, n3}, n4, nil, flaky, nil)
	if len(m.Fixed) != 1 || m.Fixed[0].Window != "cccccccccccc..dddddddddddd" || len(m.Present) != 0 || m.Anything() {
		t.Errorf("night 4: %+v", m)
	}
	if len(m.Flaky) != 1 || !strings.Contains(strings.Join(m.Lines(), "\n"), "Known flaky") {
		t.Errorf("flaky: %v", m.Lines())
	}
	// Against a pinned reference, the first night's difference is present.
	m = BuildMorning(nil, n2, map[string]string{"a/b/x": "shared", "a/b/f": "2"}, nil, nil)
	if len(m.Present) != 1 || !strings.Contains(m.Present[0].Window, "first night") {
		t.Errorf("first night against a reference: %+v", m)
	}
}

// A night with perf has its benchmarks' trend: the morning report names
// tonight's change points, the HTML report draws a chart per benchmark,
// and the record validates.
func TestNightTrend(t *testing.T) {
	r := perfRecord()
	r.Dir = "/tmp/x"
	r.Verdict = nil
	tonight := TrendOf(r.ID, "cccccccccccc", r.Perf)
	if len(tonight) == 0 {
		t.Fatal("no trend points from the perf result")
	}
	var trend []TrendPoint
	for i, c := range []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb"} {
		for _, p := range tonight {
			p.RunID, p.Commit, p.Verdict, p.Median = "r"+string(rune('1'+i)), c, PerfSame, p.Median*0.9
			trend = append(trend, p)
		}
	}
	r.Night = &Night{Tree: "/linux", Branch: "main", Config: "tinyconfig+guest@x", Commit: "cccccccccccc", Previous: "bbbbbbbbbbbb",
		Morning: &Morning{}, Trend: append(trend, tonight...),
		Reruns:     []Rerun{JudgeRerun("vmsplice/alias/read", []string{"aliasing:copied"}, "boot: QEMU exited 1"), JudgeRerun("tee/data/x", []string{"a", "b"}, "")},
		RerunError: "boot: QEMU exited 1"}
	r.Night.Morning = BuildMorning(nil, NightOutcomes{RunID: r.ID, Commit: "cccccccccccc", Outcomes: map[string]string{}}, nil, nil, r.Night.Reruns)
	j, err := r.JUnit()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), `message="not confirmed: the re-run could not run (boot: QEMU exited 1)" type="harness"`) || !strings.Contains(string(j), `message="flaky: runs disagree: a, b"`) {
		t.Errorf("junit.xml lacks the re-runs:\n%s", j)
	}
	if len(r.Night.ChangePoints()) == 0 {
		t.Fatalf("no change points among %+v", tonight)
	}
	if !strings.Contains(r.Markdown(), "Perf change points tonight") {
		t.Error("report.md does not name the change points")
	}
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `class="trend"`); n != len(tonight) {
		t.Errorf("%d trend charts, want %d", n, len(tonight))
	}
	if err := schema.Record(r); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}
}

// A re-run is flaky only on evidence (two outcomes that disagree); one
// that could not run leaves the change not confirmed, never flaky.
func TestJudgeRerun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		outcomes []string
		couldNot string
		want     string
	}{
		{"all agree", []string{"x", "x", "x"}, "", RerunConfirmed},
		{"disagree", []string{"x", "y", "x"}, "", RerunFlaky},
		{"disagree, then could not run", []string{"x", "y"}, "QEMU exited", RerunFlaky},
		{"could not run at all", []string{"x"}, "QEMU exited", RerunNotConfirmed},
		{"one agreed, one could not run", []string{"x", "x"}, "not run: the run was interrupted", RerunNotConfirmed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgeRerun("a/b/c", tc.outcomes, tc.couldNot)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %q, want %q (%+v)", r.Verdict, tc.want, r)
			}
			switch r.Verdict {
			case RerunFlaky:
				if !strings.Contains(r.Why, strings.Join(tc.outcomes, ", ")) {
					t.Errorf("flaky without each run's outcome: %q", r.Why)
				}
			case RerunNotConfirmed:
				if !strings.Contains(r.Why, tc.couldNot) {
					t.Errorf("not confirmed without the reason: %q", r.Why)
				}
			}
		})
	}
}

// Tonight's re-runs in the morning report: a change they could not
// confirm is still new, marked so, with the harness's reason; a flaky one
// is listed with each run's outcome and is not new.
func TestBuildMorningReruns(t *testing.T) {
	n1 := NightOutcomes{RunID: "r1", Commit: "aaaaaaaaaaaaaaaa", Outcomes: map[string]string{"a/b/x": "shared", "a/b/f": "1", "a/b/y": "0"}}
	n2 := NightOutcomes{RunID: "r2", Commit: "bbbbbbbbbbbbbbbb", Outcomes: map[string]string{"a/b/x": "copied", "a/b/f": "2", "a/b/y": "1"}}
	reruns := []Rerun{
		JudgeRerun("a/b/x", []string{"copied"}, "boot: QEMU exited 1"),
		JudgeRerun("a/b/f", []string{"2", "1"}, ""),
		JudgeRerun("a/b/y", []string{"1", "1", "1"}, ""),
	}
	m := BuildMorning([]NightOutcomes{n1}, n2, nil, map[string]bool{"a/b/f": true}, reruns)
	if len(m.New) != 2 || m.New[0].ID != "a/b/x" || m.New[1].ID != "a/b/y" || !m.Anything() {
		t.Fatalf("new: %+v", m.New)
	}
	if !strings.Contains(m.New[0].Unconfirmed, "QEMU exited 1") || m.New[1].Unconfirmed != "" {
		t.Errorf("unconfirmed marks: %q, %q", m.New[0].Unconfirmed, m.New[1].Unconfirmed)
	}
	if !m.Unconfirmed() || len(m.FlakyTonight) != 1 || m.FlakyTonight[0].ID != "a/b/f" {
		t.Errorf("morning: %+v", m)
	}
	text := strings.Join(m.Lines(), "\n")
	for _, want := range []string{"not confirmed: the re-run could not run (boot: QEMU exited 1)", "HARNESS: the re-run could not run (", "a/b/f: runs disagree: 2, 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
}
