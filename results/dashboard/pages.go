package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/runs"
)

//go:embed templates/*.html
var templateFiles embed.FS

// pageSize is how many runs the runs page shows at once.
const pageSize = 100

// maxPage is the last page number asked for that is taken as it is.
const maxPage = 1 << 20

// page is what every page's layout needs.
type page struct {
	Title string
	s     *Server
}

func (s *Server) page(title string) page { return page{Title: title, s: s} }

// Link is a dashboard path under the prefix, for the templates.
func (p page) Link(path string) string { return p.s.link(escape(path), nil) }

func parsePages(s *Server) (*template.Template, error) {
	funcs := template.FuncMap{
		"short": func(c string) string { return c[:min(12, len(c))] },
		"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
		"run":   func(id string) string { return s.link(results.RunPath(id), nil) },
		"case":  func(id string) string { return s.link("/cases/"+escape(id), nil) },
		"bench": func(name, metric string) string {
			return s.link("/bench/"+escape(name), url.Values{"metric": {metric}})
		},
		"tree": func(tree, branch, config string) string {
			return s.link("/nights/tree", url.Values{"tree": {tree}, "branch": {branch}, "config": {config}})
		},
		"pct": func(v float64) string { return fmt.Sprintf("%+.1f%%", v) },
		"num": func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) },
		"inc": func(i int) int { return i + 1 },
		// dict makes a select's data: its name, current value and
		// options.
		"dict": func(name, cur string, opts []string) selectView { return selectView{Name: name, Cur: cur, Opts: opts} },
	}
	return template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html")
}

// selectView is a filter's drop-down.
type selectView struct {
	Name, Cur string
	Opts      []string
}

// render executes a page into a buffer first, so that a failure is a
// clean 500 and not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, v any) {
	var b bytes.Buffer
	if err := s.pages.ExecuteTemplate(&b, name, v); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

type runsView struct {
	page
	Filter      results.RunFilter
	Facets      results.Facets
	Runs        []results.RunSummary
	Total       int
	First, Last int
	Prev, Next  string
}

// runsPage lists the runs, newest first, filtered by the query's source,
// tree, branch and verdict, a page of pageSize at a time.
func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := results.RunFilter{Source: q.Get("source"), Tree: q.Get("tree"), Branch: q.Get("branch"), Verdict: q.Get("verdict"), Limit: pageSize}
	n, _ := strconv.Atoi(q.Get("page"))
	n = min(max(n, 0), maxPage)
	f.Offset = n * pageSize
	list, total, err := s.x.Runs(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	facets, err := s.x.Facets(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := runsView{page: s.page("patchtest runs"), Filter: f, Facets: facets, Runs: list, Total: total, First: f.Offset + 1, Last: f.Offset + len(list)}
	at := func(k int) string {
		q2 := url.Values{}
		for _, k := range []string{"source", "tree", "branch", "verdict"} {
			if q.Get(k) != "" {
				q2.Set(k, q.Get(k))
			}
		}
		if k > 0 {
			q2.Set("page", strconv.Itoa(k))
		}
		return s.link("/", q2)
	}
	if n > 0 {
		v.Prev = at(n - 1)
	}
	if f.Offset+len(list) < total {
		v.Next = at(n + 1)
	}
	s.render(w, r, "runs", v)
}

type runView struct {
	page
	Run      results.RunSummary
	Record   *results.Record
	Files    []fileEntry
	Previous *results.RunSummary
	Caveats  []string
	// Report is the link to the run's report.html, shown in the page;
	// empty when the folder has none.
	Report string
}

// runPage shows one run: its summary, its report and files, and links to
// its tree's nights, its per-patch matrix and the diff with the run
// before it of the same source, tree and branch.
func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	run, rec, err := s.record(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := runView{page: s.page("patchtest run " + run.ID), Run: run, Record: rec, Caveats: rec.Caveats(), Files: s.reportFiles(run)}
	before, _, err := s.x.Runs(r.Context(), results.RunFilter{Source: run.Source, Tree: run.Tree, Branch: run.Branch, Before: run.Started, Limit: 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(before) > 0 {
		v.Previous = &before[0]
	}
	for _, f := range v.Files {
		if f.Name == "report.html" {
			v.Report = f.Link
		}
	}
	s.render(w, r, "run", v)
}

// reportFiles are the run folder's report files, in the order of
// results.Formats, then a link to the whole folder.
func (s *Server) reportFiles(run results.RunSummary) []fileEntry {
	root, _, err := s.runFolder(run)
	if err != nil {
		return nil
	}
	defer root.Close()
	var out []fileEntry
	for _, f := range results.Formats() {
		if st, err := root.Stat(f.File); err == nil && st.Mode().IsRegular() {
			out = append(out, fileEntry{Name: f.File, Size: st.Size(), Link: s.link(results.RunPath(run.ID)+"/files/"+escape(f.File), nil)})
		}
	}
	return append(out, fileEntry{Name: "all files", Dir: true, Link: s.link(results.RunPath(run.ID)+"/files/", nil)})
}

type matrixView struct {
	page
	Run      results.RunSummary
	PerPatch *results.PerPatch
}

// matrixPage shows a per-patch run's matrix: each patch's column and
// every case that changed along the series.
func (s *Server) matrixPage(w http.ResponseWriter, r *http.Request) {
	run, rec, err := s.record(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rec.PerPatch == nil {
		http.Error(w, "run "+run.ID+" did not run its series patch by patch", http.StatusNotFound)
		return
	}
	s.render(w, r, "matrix", matrixView{page: s.page("Per-patch matrix of run " + run.ID), Run: run, PerPatch: rec.PerPatch})
}

type treesView struct {
	page
	Trees []results.TreeSummary
}

// treesPage lists the trees, branches and configurations nightly runs
// follow.
func (s *Server) treesPage(w http.ResponseWriter, r *http.Request) {
	trees, err := s.x.Trees(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "trees", treesView{page: s.page("Nights"), Trees: trees})
}

type nightsView struct {
	page
	Tree   results.TreeSummary
	Nights []results.NightRow
}

// nightsPage shows the nights of one tree, branch and configuration,
// newest first: each night's commit and window, and its morning report
// (new, still present, fixed, flaky).
func (s *Server) nightsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t := results.TreeSummary{Tree: q.Get("tree"), Branch: q.Get("branch"), Config: q.Get("config")}
	nights, err := s.x.NightRows(r.Context(), t.Tree, t.Branch, t.Config, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(nights) == 0 {
		http.Error(w, "no nights of that tree, branch and configuration", http.StatusNotFound)
		return
	}
	t.Nights = len(nights)
	s.render(w, r, "nights", nightsView{page: s.page("Nights of " + t.Tree + " " + t.Branch), Tree: t, Nights: nights})
}

// casePoint is one night of a case's history, marked where its outcome
// differs from the night before on the same tree.
type casePoint struct {
	results.CasePoint
	Changed bool
}

type caseView struct {
	page
	ID     string
	Points []casePoint
	// Outcomes counts the nights per outcome.
	Outcomes map[string]int
}

// casePage shows a case's outcome on every night, newest first.
func (s *Server) casePage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pts, err := s.x.CaseHistory(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(pts) == 0 {
		http.Error(w, "no night ran the case "+id, http.StatusNotFound)
		return
	}
	v := caseView{page: s.page("History of " + id), ID: id, Outcomes: map[string]int{}}
	last := map[string]string{}
	for _, p := range pts {
		k := p.Tree + "\x00" + p.Branch
		prev, seen := last[k]
		v.Points = append(v.Points, casePoint{CasePoint: p, Changed: seen && prev != p.Outcome})
		last[k] = p.Outcome
		v.Outcomes[p.Outcome]++
	}
	for i, j := 0, len(v.Points)-1; i < j; i, j = i+1, j-1 {
		v.Points[i], v.Points[j] = v.Points[j], v.Points[i]
	}
	s.render(w, r, "case", v)
}

type benchesView struct {
	page
	Benchmarks []results.BenchMetric
}

// benchesPage lists the benchmark metrics the index has comparisons of.
func (s *Server) benchesPage(w http.ResponseWriter, r *http.Request) {
	bs, err := s.x.Benchmarks(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "benches", benchesView{page: s.page("Benchmarks"), Benchmarks: bs})
}

// treeChart is one tree's trend chart of a benchmark metric, with its
// change points.
type treeChart struct {
	Tree    results.TreeSummary
	SVG     template.HTML
	Changes []results.TrendPoint
}

type benchView struct {
	page
	Bench, Metric string
	Trees         []treeChart
	// Runs are the metric's comparisons in every run, newest first.
	Runs []results.PerfPoint
}

// benchPage shows a benchmark metric's trend on every tree night by
// night, its change points marked, and its comparison in every run.
func (s *Server) benchPage(w http.ResponseWriter, r *http.Request) {
	name, metric := r.PathValue("name"), r.URL.Query().Get("metric")
	if metric == "" {
		metric = "B/s"
	}
	trends, err := s.x.BenchTrend(r.Context(), name, metric)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hist, err := s.x.History(r.Context(), name, metric)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(trends) == 0 && len(hist) == 0 {
		http.Error(w, "no run measured "+name+" "+metric, http.StatusNotFound)
		return
	}
	v := benchView{page: s.page(name + " " + metric), Bench: name, Metric: metric}
	for _, t := range trends {
		c := treeChart{Tree: results.TreeSummary{Tree: t.Tree, Branch: t.Branch, Config: t.Config, Nights: len(t.Points)}}
		if len(t.Points) > 1 {
			if c.SVG, err = results.TrendChart(t.Points, t.Branch+" night by night"); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		for _, p := range t.Points {
			if p.Verdict == results.PerfRegression || p.Verdict == results.PerfImprovement {
				c.Changes = append(c.Changes, p)
			}
		}
		v.Trees = append(v.Trees, c)
	}
	for i := len(hist) - 1; i >= 0; i-- {
		v.Runs = append(v.Runs, hist[i])
	}
	s.render(w, r, "bench", v)
}

type diffView struct {
	page
	A, B, Side string
	Recent     []results.RunSummary
	Diff       *results.RunDiff
	Text       string
	Error      string
}

// diffPage compares one side of two runs (?a=RUN&b=RUN&side=candidate):
// the cases that changed, the problems gained and lost, the perf samples
// of a against b's.
func (s *Server) diffPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := diffView{page: s.page("Diff of two runs"), A: q.Get("a"), B: q.Get("b"), Side: q.Get("side")}
	if v.Side == "" {
		v.Side = runs.Candidate
	}
	recent, _, err := s.x.Runs(r.Context(), results.RunFilter{Limit: 200})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Recent = recent
	if v.A != "" && v.B != "" {
		_, a, err := s.record(r.Context(), v.A)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		_, b, err := s.record(r.Context(), v.B)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d, err := results.DiffRuns(a, b, v.Side, results.PerfStats{})
		if err != nil {
			v.Error = err.Error()
		} else {
			v.Diff, v.Text = d, d.Text()
		}
	}
	s.render(w, r, "diff", v)
}
