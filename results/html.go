package results

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"strings"
	"sync"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/suites/runs"
)

// HTML renders the run as one self-contained page: the kernels, the
// observation diff, the problems per kernel and, for a perf run, SVG
// charts (gonum.org/v1/plot) of every benchmark's samples on both
// kernels and of the changes, with the statistics table. It links only
// to files of its own run folder (the fuzz reproducers); styles and
// charts are inline.
func (r *Record) HTML() ([]byte, error) {
	v := htmlView{Record: r, Title: "patchtest run " + r.ID, Failed: r.Failed()}
	for _, k := range []KernelResult{r.Baseline, r.Candidate} {
		kv := htmlKernel{Role: k.Role, Desc: kernelDesc(k), Summary: k.Summary}
		if k.Capabilities != nil {
			for _, l := range k.Capabilities.Limits {
				kv.Limits = append(kv.Limits, l.String())
			}
		}
		if k.Run != nil && len(k.Run.Boots) > 0 {
			b := k.Run.Boots[0]
			kv.Boot = fmt.Sprintf("%s, QEMU %s, %s, %s", b.Agent.Release, b.QEMU.Version, b.Accel, b.MachineType)
			kv.Cases = len(k.Run.Results)
		}
		v.Kernels = append(v.Kernels, kv)
	}
	if r.Mismatch != nil {
		v.Mismatch = r.Mismatch.Lines()
	}
	if r.TreeBase != nil {
		v.TreeBase = r.TreeBase.Lines()
	}
	v.PerPatch = r.PerPatch
	if n := r.Night; n != nil && n.Morning != nil {
		v.Morning = n.Morning.Lines()
		charts, err := trendCharts(n.Trend)
		if err != nil {
			return nil, err
		}
		v.Trends = charts
	}
	expected := map[string]bool{}
	if r.Verdict != nil {
		for _, c := range r.Verdict.Expected {
			expected[c.ID] = true
		}
		v.Unmet = r.Verdict.Unmet
	}
	for _, c := range r.Changes {
		v.Changes = append(v.Changes, htmlChange{Change: c, Expected: expected[c.ID]})
	}
	v.Fuzz = fuzzView(r.Fuzz, expected)
	if r.Perf != nil {
		pv, err := perfView(r.Perf)
		if err != nil {
			return nil, err
		}
		v.Perf = pv
	}
	var b bytes.Buffer
	if err := htmlTemplate().Execute(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type htmlView struct {
	*Record
	Title   string
	Failed  bool
	Kernels []htmlKernel
	Changes []htmlChange
	Unmet   []Expectation
	Perf    *htmlPerf
	// Fuzz shadows the record's: the fuzzing run as the page shows it.
	Fuzz *htmlFuzz
	// Mismatch is the record's, as report lines.
	Mismatch []string
	// TreeBase says what the same-tree baseline is, as report lines.
	TreeBase []string
	// PerPatch is the series run patch by patch, shown as a matrix.
	PerPatch *PerPatch
	// Morning is a nightly run's morning report, Trends its benchmarks
	// night by night.
	Morning []string
	Trends  []htmlChart
}

type htmlKernel struct {
	Role, Desc, Boot string
	Cases            int
	Summary          ProblemsSummary
	Limits           []string
}

type htmlChange struct {
	Change
	Expected bool
}

type htmlPerf struct {
	Legend  string
	Table   string
	Rows    []htmlPerfRow
	Summary template.HTML // the change chart
	Charts  []htmlChart
}

// htmlPerfRow is one metric with the medians' confidence intervals.
type htmlPerfRow struct {
	Bench, Metric, Base, New, Change, P, N, Verdict string
	Bad, Good                                       bool
}

func perfRow(c PerfChange) htmlPerfRow {
	ci := func(d Dist) string {
		if d.N == 0 {
			return "-"
		}
		return fmt.Sprintf("%s [%s, %s]", human(d.Median), human(d.Lo), human(d.Hi))
	}
	r := htmlPerfRow{Bench: c.Bench, Metric: c.Metric, Base: ci(c.Base), New: ci(c.New),
		Change: fmt.Sprintf("%+.1f%%", c.ChangePct), P: pValue(c), N: fmt.Sprintf("%d+%d", c.Base.N, c.New.N),
		Verdict: c.Verdict, Bad: c.Verdict == PerfRegression, Good: c.Verdict == PerfImprovement}
	if c.Expected != "" {
		r.Verdict += " (expected)"
	}
	return r
}

type htmlChart struct {
	Bench string
	SVG   template.HTML
}

// perfView draws the charts: one of the primary metric's change per
// benchmark, then per benchmark the samples of both kernels.
func perfView(p *PerfResult) (*htmlPerf, error) {
	v := &htmlPerf{Legend: PerfLegend(p.Run, p.Stats), Table: PerfTable(p.Changes)}
	for _, c := range p.Changes {
		v.Rows = append(v.Rows, perfRow(c))
	}
	var primary []PerfChange
	for _, c := range p.Changes {
		if b, ok := perf.Lookup(c.Bench); ok && b.Metrics[0] == c.Metric {
			primary = append(primary, c)
		}
	}
	if len(primary) == 0 {
		return v, nil
	}
	svg, err := changeChart(primary)
	if err != nil {
		return nil, err
	}
	v.Summary = svg
	for _, c := range primary {
		svg, err := samplesChart(p.Run, c)
		if err != nil {
			return nil, err
		}
		v.Charts = append(v.Charts, htmlChart{Bench: c.Bench, SVG: svg})
	}
	return v, nil
}

var (
	colBase   = color.RGBA{R: 0x55, G: 0x6b, B: 0x8d, A: 0xff}
	colNew    = color.RGBA{R: 0xd9, G: 0x82, B: 0x2b, A: 0xff}
	colWorse  = color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff}
	colBetter = color.RGBA{R: 0x27, G: 0xae, B: 0x60, A: 0xff}
	colSame   = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
)

// changeChart is a horizontal bar per benchmark: its primary metric's
// change in percent, red for a regression, green for an improvement,
// grey when not significant.
func changeChart(cs []PerfChange) (template.HTML, error) {
	pl := plot.New()
	pl.Title.Text = "Change of each benchmark's primary metric (candidate vs baseline)"
	pl.X.Label.Text = "% change (good direction depends on the metric: see the table)"
	names := make([]string, len(cs))
	for i, c := range cs {
		names[len(cs)-1-i] = c.Bench + " " + c.Metric
		vals := make(plotter.Values, len(cs))
		vals[len(cs)-1-i] = c.ChangePct
		bars, err := plotter.NewBarChart(vals, vg.Points(9))
		if err != nil {
			return "", err
		}
		bars.Horizontal = true
		bars.LineStyle.Width = 0
		switch c.Verdict {
		case PerfRegression:
			bars.Color = colWorse
		case PerfImprovement:
			bars.Color = colBetter
		default:
			bars.Color = colSame
		}
		pl.Add(bars)
	}
	pl.NominalY(names...)
	pl.Add(plotter.NewGrid())
	return svgOf(pl, 9*vg.Inch, vg.Length(len(cs))*16+80)
}

// samplesChart shows every measured sample of the benchmark's primary
// metric on both kernels as box plots.
func samplesChart(run *runs.Perf, c PerfChange) (template.HTML, error) {
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("%s — %s (%s, p=%.3f)", c.Bench, c.Metric, c.Verdict, c.P)
	pl.Y.Label.Text = c.Metric
	for i, d := range []Dist{c.Base, c.New} {
		if len(d.Values) == 0 {
			continue
		}
		box, err := plotter.NewBoxPlot(vg.Points(40), float64(i), plotter.Values(d.Values))
		if err != nil {
			return "", err
		}
		box.FillColor = []color.Color{colBase, colNew}[i]
		pl.Add(box)
		pts := make(plotter.XYs, len(d.Values))
		for j, y := range d.Values {
			pts[j] = plotter.XY{X: float64(i) + 0.25, Y: y}
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return "", err
		}
		sc.GlyphStyle.Color = []color.Color{colBase, colNew}[i]
		sc.GlyphStyle.Radius = vg.Points(2)
		pl.Add(sc)
	}
	pl.NominalX(runs.Baseline, runs.Candidate)
	pl.Y.Tick.Marker = humanTicks{}
	return svgOf(pl, 4*vg.Inch, 3*vg.Inch)
}

// trendCharts draws, per benchmark, its primary metric's median night by
// night; a night whose comparison with the one before was called a
// change (a change point) is marked red (worse) or green (better).
func trendCharts(ts []TrendPoint) ([]htmlChart, error) {
	var order []string
	by := map[string][]TrendPoint{}
	for _, t := range ts {
		if _, ok := by[t.Bench]; !ok {
			order = append(order, t.Bench)
		}
		by[t.Bench] = append(by[t.Bench], t)
	}
	var out []htmlChart
	for _, b := range order {
		if len(by[b]) < 2 {
			continue
		}
		svg, err := TrendChart(by[b], "night by night")
		if err != nil {
			return nil, err
		}
		out = append(out, htmlChart{Bench: b, SVG: svg})
	}
	return out, nil
}

// TrendChart draws one benchmark metric's medians (pts, oldest first) as
// an inline SVG line over the nights' commits, titled with what: a
// change point (a regression or improvement called against the night
// before) is a red or green mark, every other night grey.
func TrendChart(pts []TrendPoint, what string) (template.HTML, error) {
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("%s — %s, %s", pts[0].Bench, pts[0].Metric, what)
	pl.X.Label.Text = "night"
	pl.Y.Label.Text = pts[0].Metric
	line := make(plotter.XYs, len(pts))
	var labels []string
	for i, t := range pts {
		line[i] = plotter.XY{X: float64(i), Y: t.Median}
		labels = append(labels, short(t.Commit))
	}
	l, err := plotter.NewLine(line)
	if err != nil {
		return "", err
	}
	l.Color = colNew
	pl.Add(l)
	for i, t := range pts {
		c := colSame
		switch t.Verdict {
		case PerfRegression:
			c = colWorse
		case PerfImprovement:
			c = colBetter
		}
		sc, err := plotter.NewScatter(plotter.XYs{line[i]})
		if err != nil {
			return "", err
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Radius = c, vg.Points(4)
		pl.Add(sc)
	}
	if len(labels) > 40 {
		// A label per night is unreadable over months: label every
		// k-th night.
		k := (len(labels) + 39) / 40
		for i := range labels {
			if i%k != 0 {
				labels[i] = ""
			}
		}
	}
	pl.NominalX(labels...)
	pl.Y.Tick.Marker = humanTicks{}
	return svgOf(pl, 6*vg.Inch, 3*vg.Inch)
}

// humanTicks labels an axis as the tables do: 10.8G, 384M, 0.14.
type humanTicks struct{}

func (humanTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = human(ts[i].Value)
		}
	}
	return ts
}

// svgOf renders the plot as an inline <svg> element.
func svgOf(pl *plot.Plot, w, h vg.Length) (template.HTML, error) {
	wt, err := pl.WriterTo(w, h, "svg")
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return "", err
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	s = strings.Replace(s, "<svg", `<svg class="chart"`, 1)
	return template.HTML(s), nil
}

// htmlTemplate is parsed when a report is first written, not when the
// binary starts: the binary is also the guest's agent, whose every
// worker process would pay for it.
var htmlTemplate = sync.OnceValue(func() *template.Template { return template.Must(template.New("report").Parse(htmlSource)) })

const htmlSource = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#222}
h1{font-size:1.5em} h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse} td,th{padding:.2em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
.verdict{padding:.5em 1em;display:inline-block;border-radius:4px}
.ok{background:#e3f4e8} .bad{background:#fbe3e0}
.unexpected{color:#c0392b;font-weight:bold} .expected{color:#555} .good{color:#27ae60;font-weight:bold}
pre{background:#f6f6f6;padding:1em;overflow-x:auto}
.charts{display:flex;flex-wrap:wrap;gap:1em}
</style></head><body>
<h1>{{.Title}}</h1>
<p class="verdict {{if .Failed}}bad{{else}}ok{{end}}">{{if .Failed}}Needs a look: unexpected changes or problems below.{{else}}Only expected changes, no invariant failures, no crashes.{{end}}</p>
{{with .Caveats}}<p id="caveats">Caveat: {{range $i, $c := .}}{{if $i}}; {{end}}{{$c}}{{end}}.</p>{{end}}
<h2>Kernels</h2>
<table><tr><th>role</th><th>kernel</th><th>boot</th><th>cases</th></tr>
{{range .Kernels}}<tr><td>{{.Role}}</td><td>{{.Desc}}</td><td>{{.Boot}}</td><td>{{.Cases}}</td></tr>
{{end}}</table>
<p>Host: {{.Host}}. Started {{.Started.Format "2006-01-02 15:04:05 MST"}}.{{with .URL}} On the dashboard: <a id="dashboard" href="{{.}}">{{.}}</a>.{{end}}</p>
{{if .Incomplete}}<p class="verdict bad" id="incomplete">Incomplete: the run was interrupted or the harness failed part way; the cases it did not reach are listed as not run.</p>{{end}}
{{if .Morning}}<div id="morning"><h2>Morning report</h2><ul>{{range .Morning}}<li>{{.}}</li>{{end}}</ul>
{{range .Trends}}<div class="trend">{{.SVG}}</div>{{end}}</div>{{end}}
{{with .PerPatch}}<div id="per-patch"><h2>Patch by patch</h2>
<table><tr><th>patch</th><th>status</th><th>changes</th></tr>
{{range .Columns}}<tr><td>{{.Label}} {{.Title}}</td><td{{if ne .Status "ok"}} class="unexpected"{{end}}>{{.Status}}{{if .Reason}}: {{.Reason}}{{end}}</td><td>{{len .Introduced}}</td></tr>
{{end}}</table>
{{if .Matrix}}<table><tr><th>case</th><th>base</th>{{range .Columns}}<th>{{.Index}}</th>{{end}}<th>made by</th><th>fate</th></tr>
{{range .Matrix}}<tr><td>{{.ID}}</td><td>{{.Base}}</td>{{range .Cols}}<td>{{.}}</td>{{end}}<td>{{.By}}</td><td>{{.Fate}}</td></tr>
{{end}}</table>{{end}}</div>{{end}}
{{if .TreeBase}}<div id="tree-base"><p>Same tree as its own baseline:</p><ul>{{range .TreeBase}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{if .Mismatch}}<div id="mismatch"><p class="unexpected">The kernels differ beyond the patch, so some changes below may come from that:</p><ul>{{range .Mismatch}}<li>{{.}}</li>{{end}}</ul></div>{{end}}
{{range .Kernels}}{{if .Limits}}<p>What the {{.Role}} kernel cannot report (from its configuration):</p><ul class="limits">{{range .Limits}}<li>{{.}}</li>{{end}}</ul>{{end}}{{end}}
<h2 id="changes">Observation changes</h2>
{{if .Changes}}<table id="changes-table"><tr><th>case</th><th>baseline</th><th>candidate</th><th></th></tr>
{{range .Changes}}<tr><td>{{.ID}}</td><td>{{.From}}</td><td>{{.To}}</td><td>{{if .Expected}}<span class="expected">expected</span>{{else}}<span class="unexpected">UNEXPECTED</span>{{end}}</td></tr>
{{end}}</table>{{else}}<p>No observation changed.</p>{{end}}
{{if .NotComparable}}<h3>Not comparable (they fail nothing)</h3><table id="not-comparable"><tr><th>case</th><th>baseline</th><th>candidate</th><th>why</th></tr>
{{range .NotComparable}}<tr><td>{{.ID}}</td><td>{{.From}}</td><td>{{.To}}</td><td>{{.Why}}</td></tr>
{{end}}</table>{{end}}
{{if .Unmet}}<p>Declared in expect.yaml but not seen:</p><ul>{{range .Unmet}}<li>{{.Cases}}: {{.From}} → {{.To}}</li>{{end}}</ul>{{end}}
{{with .Peers}}<h2 id="peer">Peer suites</h2><p>The same programs on both kernels; each subtest is a case above.</p>
<table id="peer-table"><tr><th>peer case</th><th>baseline</th><th>candidate</th><th>changes</th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.Baseline.Outcome}}; {{.Baseline.Tally}}</td><td>{{.Candidate.Outcome}}; {{.Candidate.Tally}}</td><td>{{if .Changed}}<span class="unexpected">{{.Changed}}</span>{{else}}0{{end}}</td></tr>
{{end}}</table>{{end}}
{{with .PeerFocus}}<h3>Their vmsplice subtests</h3><table id="peer-vmsplice"><tr><th>subtest</th><th>baseline</th><th>candidate</th></tr>
{{range .}}<tr><td>{{.ID}}</td><td>{{.Baseline}}</td><td>{{.Candidate}}</td></tr>
{{end}}</table>{{end}}
{{with .PeerFigures}}<h3>Peer figures</h3><p>One run per kernel ({{$.FiguresClock}}); no statistics: what the peer programs see, beside the benchmarks' measurement.</p>
<table id="peer-figures"><tr><th>suite</th><th>case</th><th>metric</th><th>baseline</th><th>candidate</th><th>change</th><th>patchtest's nearest benchmark (B/s)</th></tr>
{{range .}}<tr><td>{{.Suite}}</td><td>{{.Case}}</td><td>{{.Metric}}</td><td>{{printf "%.4g" .Baseline}}</td><td>{{printf "%.4g" .Candidate}}</td><td>{{printf "%+.1f %%" .ChangePct}}</td><td>{{.Bench}}{{if .BenchChange}}: {{.BenchChange}}{{end}}</td></tr>
{{end}}</table>{{end}}
{{with .Fuzz}}<h2 id="fuzz">Differential fuzzing</h2>
<p>{{.Summary}}</p>
{{with .Fault}}<p class="unexpected" id="fuzz-fault">{{.}}</p><pre>{{range $.Fuzz.Program}}{{.}}
{{end}}</pre>{{end}}
{{range .Diffs}}<div class="fuzz-diff"><h3>{{.ID}} {{if .Expected}}<span class="expected">expected</span>{{else}}<span class="unexpected">UNEXPECTED</span>{{end}}</h3>
<p>Minimized from {{.Original}} calls to {{.Calls}}; the traces part at line {{.Step}}: {{.Call}}.</p>
<pre>{{.Trace}}</pre>
<p>Reproducer: <a href="{{.File}}">{{.File}}</a> (gcc -static -o repro; patchtest boot --kernel K --program $PWD/repro -- $PWD/repro, outside /tmp).</p></div>
{{else}}<p>No program's trace differed.</p>{{end}}{{end}}
<h2>Problems</h2>
{{range .Kernels}}{{$k := .}}{{with .Summary}}{{if .Count}}<h3>{{$k.Role}}</h3><ul>
{{range .Kernel}}<li class="unexpected">kernel: {{.}}</li>{{end}}
{{range .Crashes}}<li class="unexpected">crash: {{.}}</li>{{end}}
{{range .Hangs}}<li class="unexpected">hang: {{.}}</li>{{end}}
{{range .Invariants}}<li class="unexpected">invariant failed: {{.}}</li>{{end}}
{{range .Kmsg}}<li class="unexpected">kernel log: {{.}}</li>{{end}}
{{range .Errors}}<li>case error: {{.}}</li>{{end}}
{{range .NotRun}}<li>not run: {{.}}</li>{{end}}
</ul>{{end}}{{end}}{{end}}
{{with .Perf}}<h2 id="perf">Performance</h2>
<pre>{{.Legend}}</pre>
<div id="perf-summary">{{.Summary}}</div>
<pre>{{.Table}}</pre>
<div class="charts" id="perf-charts">{{range .Charts}}<figure>{{.SVG}}</figure>{{end}}</div>
<table id="perf-table"><tr><th>benchmark</th><th>metric</th><th>baseline median [95% CI]</th><th>candidate median [95% CI]</th><th>change</th><th>p</th><th>n</th><th>verdict</th></tr>
{{range .Rows}}<tr><td>{{.Bench}}</td><td>{{.Metric}}</td><td>{{.Base}}</td><td>{{.New}}</td><td>{{.Change}}</td><td>{{.P}}</td><td>{{.N}}</td><td{{if .Bad}} class="unexpected"{{else if .Good}} class="good"{{end}}>{{.Verdict}}</td></tr>
{{end}}</table>{{end}}
</body></html>
`
