package results

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

func perfRecord() *Record {
	r := fakeRecord("20261129T120000Z", time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), 2, false)
	r.Verdict = &Verdict{Expected: r.Changes[:1], Unexpected: r.Changes[1:]}
	run := fakePerfRun(rand.New(rand.NewPCG(1, 1)), 6, 0.2)
	cs := ComparePerf(run, PerfStats{})
	r.Perf = &PerfResult{Run: run, Changes: cs, Stats: PerfStats{}.WithDefaults(), Regressions: PerfRegressions(cs, 5)}
	r.Candidate.Summary.Crashes = []string{"splice/errors/same-pipe: kernel panic"}
	return r
}

func TestHTML(t *testing.T) {
	r := perfRecord()
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	svgs, ids := 0, map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if n.Data == "svg" {
				svgs++
			}
			if n.Data == "a" || n.Data == "link" || n.Data == "script" || n.Data == "img" {
				t.Errorf("the report must be self-contained; it has <%s>", n.Data)
			}
			for _, a := range n.Attr {
				if a.Key == "id" {
					ids[a.Val] = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if want := 1 + len(r.Perf.Run.Benchmarks); svgs != want {
		t.Errorf("%d charts, want %d", svgs, want)
	}
	for _, id := range []string{"changes-table", "perf-summary", "perf-charts", "perf-table"} {
		if !ids[id] {
			t.Errorf("no element #%s", id)
		}
	}
	s := string(b)
	for _, want := range []string{"UNEXPECTED", "crash: splice/errors/same-pipe", "Needs a look", "vmsplice/pipe-devnull/64KiB", "median [95% CI]"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
