package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/dashboard/dashtest"
	"github.com/patchtest/patchtest/suites/perf"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// serveBinary starts `patchtest serve` with args on a free loopback port
// and returns its address (http://127.0.0.1:PORT); the server is stopped
// with SIGINT when the test ends, and must then exit 0.
func serveBinary(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	var said strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`^patchtest: serving .* on (http://127\.0\.0\.1:[0-9]+)/$`)
		for sc.Scan() {
			said.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve after SIGINT: %v", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Error("serve did not stop on SIGINT")
		}
	})
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("serve exited without serving:\n%s", said.String())
		}
		return a
	case <-time.After(time.Minute):
		t.Fatalf("serve said no address in a minute:\n%s", said.String())
	}
	return ""
}

// page is a page as Chromium built it.
type page struct {
	url  string
	root *html.Node
}

func load(t *testing.T, b *vmtest.Browser, u string) page {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(string(b.Load(t, u, "--dump-dom"))))
	if err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return page{u, doc}
}

// all returns the elements under n for which match holds, in document
// order.
func all(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// is matches elements by tag, and by attribute values given as pairs.
func is(tag string, kv ...string) func(*html.Node) bool {
	return func(n *html.Node) bool {
		if n.Data != tag {
			return false
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if v := attr(n, kv[i]); kv[i] == "class" && !strings.Contains(" "+v+" ", " "+kv[i+1]+" ") || kv[i] != "class" && v != kv[i+1] {
				return false
			}
		}
		return true
	}
}

// one returns the single element that matches, failing the test if there
// is not exactly one.
func (p page) one(t *testing.T, what string, under *html.Node, match func(*html.Node) bool) *html.Node {
	t.Helper()
	if under == nil {
		under = p.root
	}
	got := all(under, match)
	if len(got) != 1 {
		t.Fatalf("%s: %d %s, want one", p.url, len(got), what)
	}
	return got[0]
}

// text is what a user reads in n.
func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// The dashboard as a user sees it: `patchtest serve` on a generated
// index of two trees' nights, each page loaded in headless Chromium and
// read from the DOM it built.
func TestCLIServe(t *testing.T) {
	browser := vmtest.Chromium(t)
	g, err := dashtest.Generate(t.Context(), t.TempDir(), dashtest.Spec{Trees: 2, Nights: 9, Cases: 8, Benchmarks: 2, Files: true})
	if err != nil {
		t.Fatal(err)
	}
	nights := 9
	base := serveBinary(t, "--index", g.Dir)
	bodyRows := func(table *html.Node) []*html.Node {
		tb := all(table, is("tbody"))
		if len(tb) != 1 {
			t.Fatalf("table with %d bodies", len(tb))
		}
		return all(tb[0], is("tr"))
	}

	// The runs table: every run, newest first; filtered by tree, only
	// that tree's nights.
	p := load(t, browser, base+"/")
	runRows := bodyRows(p.one(t, "runs table", nil, is("table", "id", "runs")))
	if len(runRows) != g.Runs {
		t.Errorf("runs table: %d rows, want %d", len(runRows), g.Runs)
	}
	if len(runRows) > 0 && attr(runRows[0], "data-run") != g.PerPatch {
		t.Errorf("runs table: first row %q, want the newest run %s", attr(runRows[0], "data-run"), g.PerPatch)
	}
	p = load(t, browser, base+"/?tree="+url.QueryEscape(g.Trees[1]))
	treeRows := bodyRows(p.one(t, "runs table", nil, is("table", "id", "runs")))
	if len(treeRows) != nights {
		t.Errorf("runs of %s: %d rows, want %d", g.Trees[1], len(treeRows), nights)
	}
	for _, r := range treeRows {
		if cand := text(all(r, is("td"))[3]); !strings.Contains(cand, g.Trees[1]) {
			t.Errorf("runs of %s: a row's candidate is %q", g.Trees[1], cand)
		}
	}

	// A case's history: a row per night of each tree, the changed
	// outcome on the nights between the change and the fix.
	p = load(t, browser, base+"/cases/"+g.Changed)
	hist := bodyRows(p.one(t, "history table", nil, is("table", "id", "history")))
	changed := 0
	for _, r := range hist {
		if text(p.one(t, "outcome cell", r, is("td", "class", "outcome"))) == "ret:-22" {
			changed++
		}
	}
	if len(hist) != 2*nights || changed != 2*(g.FixedAt-g.ChangedAt) {
		t.Errorf("history of %s: %d rows, %d changed; want %d, %d", g.Changed, len(hist), changed, 2*nights, 2*(g.FixedAt-g.ChangedAt))
	}

	// A benchmark's trend: a mark per night, the step's mark in its
	// verdict's colour on tree 0 only, the rest grey.
	step := "#C0392B" // a regression
	if perf.HigherIsBetter(g.Metric) {
		step = "#27AE60"
	}
	p = load(t, browser, base+"/bench/"+g.Bench+"?metric="+url.QueryEscape(g.Metric))
	for i, tree := range g.Trees {
		sec := p.one(t, "trend of "+tree, nil, is("section", "data-tree", tree))
		svg := p.one(t, "chart", sec, is("svg"))
		marks := map[string]int{}
		for _, m := range all(svg, func(n *html.Node) bool { return n.Data == "path" && strings.Contains(attr(n, "d"), "A4,4") }) {
			marks[strings.ToUpper(styleColour(attr(m, "style")))]++
		}
		want := map[string]int{"#999999": nights - 1, step: 1}
		if i > 0 {
			want = map[string]int{"#999999": nights}
		}
		if fmt.Sprint(marks) != fmt.Sprint(want) {
			t.Errorf("trend of %s on %s: marks %v, want %v", g.Bench, tree, marks, want)
		}
		cps := all(sec, is("table", "class", "changepoints"))
		if (i == 0) != (len(cps) == 1) {
			t.Errorf("trend of %s on %s: %d change point tables", g.Bench, tree, len(cps))
		}
	}

	// The nights of a tree: new on the change's night, fixed on the
	// fix's; the hostile commit subject read as text, no element made of
	// it.
	p = load(t, browser, base+"/nights/tree?tree="+url.QueryEscape(g.Trees[0])+"&branch="+g.Branch+"&config="+url.QueryEscape(g.Config))
	nightRows := bodyRows(p.one(t, "nights table", nil, is("table", "id", "nights")))
	if len(nightRows) != nights {
		t.Fatalf("nights of %s: %d rows, want %d", g.Trees[0], len(nightRows), nights)
	}
	at := func(n int) *html.Node { return nightRows[nights-1-n] } // newest first
	if s := text(p.one(t, "new cell", at(g.ChangedAt), is("td", "class", "new"))); !strings.Contains(s, g.Changed) {
		t.Errorf("night %d: new %q, want %s", g.ChangedAt, s, g.Changed)
	}
	if s := text(p.one(t, "fixed cell", at(g.FixedAt), is("td", "class", "fixed"))); !strings.Contains(s, g.Changed) {
		t.Errorf("night %d: fixed %q, want %s", g.FixedAt, s, g.Changed)
	}
	if s := text(p.one(t, "flaky cell", at(g.FlakyAt), is("td", "class", "flaky"))); !strings.Contains(s, g.Flaky) {
		t.Errorf("night %d: flaky %q, want %s", g.FlakyAt, s, g.Flaky)
	}
	if s := text(p.one(t, "subject", at(nights-1), is("span", "class", "subject"))); s != strings.Join(strings.Fields(dashtest.HostileSubject), " ") {
		t.Errorf("hostile subject reads %q", s)
	}
	noMarkup(t, p)

	// A night's run and its own report, served from its folder.
	night := attr(at(g.ChangedAt), "data-run")
	p = load(t, browser, base+"/runs/"+night)
	if s := text(p.one(t, "changes table", nil, is("table", "id", "changes"))); !strings.Contains(s, g.Changed) {
		t.Errorf("run %s: changes %q", night, s)
	}
	frame := p.one(t, "report frame", nil, is("iframe", "id", "report"))
	if src := attr(frame, "src"); src != "/runs/"+night+"/files/report.html" {
		t.Errorf("run %s: the report's frame shows %q", night, src)
	}
	p = load(t, browser, base+"/runs/"+night+"/files/report.html")
	if s := text(p.one(t, "title", nil, is("h1"))); s != "patchtest run "+night {
		t.Errorf("report.html of %s: title %q", night, s)
	}

	// The per-patch matrix: the second patch made the change; its
	// hostile subject is text.
	p = load(t, browser, base+"/runs/"+g.PerPatch+"/matrix")
	matrix := p.one(t, "matrix", nil, is("table", "id", "matrix"))
	if c := all(matrix, is("td", "class", "changed")); len(c) != 1 {
		t.Errorf("matrix: %d cells marked as the change's patch, want 1", len(c))
	}
	noMarkup(t, p)

	// The diff of two nights.
	p = load(t, browser, base+"/diff?a="+attr(at(g.ChangedAt-1), "data-run")+"&b="+night)
	if s := text(p.one(t, "diff table", nil, is("table", "id", "diff"))); !strings.Contains(s, g.Changed) {
		t.Errorf("diff: %q, want %s", s, g.Changed)
	}

	// Nothing outside the run folders: a link planted in one to the
	// index, and ../, are refused.
	if err := os.Symlink(filepath.Join(g.Dir, "index.sqlite"), filepath.Join(g.Dir, night, "planted")); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/runs/" + night + "/files/planted", "/runs/" + night + "/files/..%2findex.sqlite", "/runs/" + night + "/files/%2e%2e/%2e%2e/index.sqlite"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "SQLite format") {
			t.Errorf("%s: %s, served", path, resp.Status)
		}
	}
}

// styleColour is the stroke colour of an SVG style attribute.
func styleColour(style string) string {
	for _, d := range strings.Split(style, ";") {
		if k, v, ok := strings.Cut(d, ":"); ok && strings.TrimSpace(k) == "stroke" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// noMarkup fails the test when the page holds an element a commit subject
// could have made: a script, an image, an event handler.
func noMarkup(t *testing.T, p page) {
	t.Helper()
	for _, n := range all(p.root, func(n *html.Node) bool { return n.Data == "script" || n.Data == "img" || attr(n, "onerror") != "" }) {
		t.Errorf("%s: a <%s> element in the page", p.url, n.Data)
	}
}

// Bad input to serve is one line naming it, before anything listens.
func TestCLIServeBadInput(t *testing.T) {
	empty, valid := t.TempDir(), t.TempDir()
	x, err := results.OpenIndex(valid)
	if err != nil {
		t.Fatal(err)
	}
	x.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--index", empty}, 65, "results reindex --out " + empty},
		{[]string{"--index", empty, "--url", "ci.example.org"}, 65, "ci.example.org"},
		{[]string{"--index", valid, "--listen", "127.0.0.1:99999"}, 2, "99999"},
	} {
		cmd, _, stderr := command(t, t.TempDir(), append([]string{"serve"}, tc.args...)...)
		err := cmd.Run()
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if exitCode(err) != tc.code || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("serve %q: exit %d, %q; want exit %d, one line naming %q", tc.args, exitCode(err), stderr.String(), tc.code, tc.want)
		}
	}
}

func TestLoopback(t *testing.T) {
	for listen, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:80": true, "localhost:1": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.1:80": false, "nonsense": false,
	} {
		if got := loopback(listen); got != want {
			t.Errorf("loopback(%q) = %v, want %v", listen, got, want)
		}
	}
}
