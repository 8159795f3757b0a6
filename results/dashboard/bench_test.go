package dashboard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/patchtest/patchtest/results/dashboard/dashtest"
)

// BenchmarkPages renders every page over a year of nights on three trees
// with the whole catalogue and four benchmarks each night (the target:
// each page in under 200 ms). The index is generated first, outside the
// timings; the pages are served as a request through ServeHTTP, so what
// is measured is the queries, the charts and the templates.
//
//	go test -run '^$' -bench Pages -benchtime 20x ./results/dashboard/
func BenchmarkPages(b *testing.B) {
	g, err := dashtest.Generate(b.Context(), b.TempDir(), dashtest.Spec{Trees: 3, Nights: 365, Benchmarks: 4})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Dir: g.Dir})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ids := runIDs(b, g)
	if len(ids) != 365 || g.Runs != 3*365+1 {
		b.Fatalf("generated %d nights on tree 0, %d runs", len(ids), g.Runs)
	}
	mid := ids[len(ids)/2]
	for _, p := range []struct{ name, path string }{
		{"runs", "/"},
		{"runs-filtered", "/?" + url.Values{"tree": {g.Trees[1]}, "verdict": {"failed"}}.Encode()},
		{"runs-last-page", "/?page=10"},
		{"run", "/runs/" + mid},
		{"run-files", "/runs/" + mid + "/files/"},
		{"trees", "/nights"},
		{"nights", treePath(g, 0)},
		{"case", "/cases/" + g.Changed},
		{"benches", "/bench"},
		{"bench", "/bench/" + g.Bench + "?" + url.Values{"metric": {g.Metric}}.Encode()},
		{"matrix", "/runs/" + g.PerPatch + "/matrix"},
		{"diff", "/diff?a=" + ids[0] + "&b=" + ids[len(ids)-1]},
	} {
		b.Run(p.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, p.path, nil)
			for b.Loop() {
				w := httptest.NewRecorder()
				s.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", p.path, w.Code, w.Body)
				}
			}
		})
	}
}
