package results

import (
	"strings"
	"testing"
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

	m := BuildMorning([]NightOutcomes{n1}, n2, nil, flaky)
	if len(m.New) != 1 || m.New[0].ID != "a/b/x" || m.New[0].Window != "aaaaaaaaaaaa..bbbbbbbbbbbb" || !m.Anything() {
		t.Errorf("night 2: %+v", m)
	}
	m = BuildMorning([]NightOutcomes{n1, n2}, n3, nil, flaky)
	if len(m.New) != 0 || len(m.Present) != 1 || m.Present[0].Since != "r2" || m.Present[0].Window != "aaaaaaaaaaaa..bbbbbbbbbbbb" || m.Anything() {
		t.Errorf("night 3: %+v", m)
	}
	m = BuildMorning([]NightOutcomes{n1, n2, n3}, n4, nil, flaky)
	if len(m.Fixed) != 1 || m.Fixed[0].Window != "cccccccccccc..dddddddddddd" || len(m.Present) != 0 || m.Anything() {
		t.Errorf("night 4: %+v", m)
	}
	if len(m.Flaky) != 1 || !strings.Contains(strings.Join(m.Lines(), "\n"), "Known flaky") {
		t.Errorf("flaky: %v", m.Lines())
	}
	// Against a pinned reference, the first night's difference is present.
	m = BuildMorning(nil, n2, map[string]string{"a/b/x": "shared", "a/b/f": "2"}, nil)
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
		Morning: &Morning{}, Trend: append(trend, tonight...)}
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
	if err := r.Validate(); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}
}
