package dashboard

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/dashboard/dashtest"
)

// small generates a results directory of two trees' nights, with every
// report file, and serves it.
func small(t *testing.T, o Options) (*dashtest.Generated, *httptest.Server) {
	t.Helper()
	g, err := dashtest.Generate(t.Context(), t.TempDir(), dashtest.Spec{Trees: 2, Nights: 7, Cases: 12, Benchmarks: 3, Files: true})
	if err != nil {
		t.Fatal(err)
	}
	o.Dir = g.Dir
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	return g, srv
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestPages(t *testing.T) {
	g, srv := small(t, Options{})
	ids := runIDs(t, g)
	treeQ := treePath(g, 0)
	for _, tc := range []struct {
		path   string
		code   int
		want   []string
		absent []string
	}{
		{"/", 200, []string{`id="runs"`, ids[0], g.PerPatch, `id="filter"`}, nil},
		{"/?verdict=failed", 200, []string{"failed"}, []string{`class="passed"`}},
		{"/?branch=nope", 200, []string{"No run matches."}, []string{`id="runs"`}},
		{"/runs/" + ids[g.ChangedAt], 200, []string{g.Changed, "report.html", "Morning report", "NEW since last night"}, nil},
		{"/runs/" + ids[g.ChangedAt] + "/files/report.md", 200, []string{"patchtest"}, nil},
		{"/runs/" + ids[g.ChangedAt] + "/files/", 200, []string{"run.json", "junit.xml"}, nil},
		{"/runs/" + g.PerPatch + "/matrix", 200, []string{`id="matrix"`, "[PATCH 2/2]", "kept"}, nil},
		{"/runs/" + ids[0] + "/matrix", 404, nil, nil},
		{"/runs/nope", 404, nil, nil},
		{"/nights", 200, []string{g.Trees[0], g.Trees[1]}, nil},
		{treeQ, 200, []string{`id="nights"`, "7 nights", g.Changed, g.Flaky}, nil},
		{"/nights/tree?tree=/nope&branch=x&config=y", 404, nil, nil},
		{"/cases/" + g.Changed, 200, []string{`id="history"`, "ret:-22", "ret:0", `class="changed"`}, nil},
		{"/cases/no/such/case", 404, nil, nil},
		{"/bench", 200, []string{g.Bench}, nil},
		{"/bench/" + g.Bench + "?metric=" + g.Metric, 200, []string{"<svg", `class="changepoints"`, ids[g.StepAt]}, nil},
		{"/bench/nope", 404, nil, nil},
		{"/diff", 200, []string{`id="pick"`}, nil},
		{"/diff?a=" + ids[0] + "&b=" + ids[g.ChangedAt], 200, []string{`id="diff"`, g.Changed}, nil},
		{"/diff?a=" + ids[0] + "&b=nope", 404, nil, nil},
	} {
		code, h, body := get(t, srv.URL+tc.path)
		if code != tc.code {
			t.Errorf("GET %s: %d, want %d: %.300s", tc.path, code, tc.code, body)
			continue
		}
		if h.Get("Content-Security-Policy") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", tc.path, h)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in the page", tc.path, w)
			}
		}
		for _, w := range tc.absent {
			if strings.Contains(body, w) {
				t.Errorf("GET %s: %q in the page", tc.path, w)
			}
		}
	}
}

// treePath is the nights page of tree i.
func treePath(g *dashtest.Generated, i int) string {
	return "/nights/tree?" + url.Values{"tree": {g.Trees[i]}, "branch": {g.Branch}, "config": {g.Config}}.Encode()
}

// runIDs are tree 0's nights' run IDs, oldest first.
func runIDs(t testing.TB, g *dashtest.Generated) []string {
	t.Helper()
	x, err := results.OpenIndexReadOnly(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	nights, err := x.NightRows(t.Context(), g.Trees[0], g.Branch, g.Config, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := len(nights) - 1; i >= 0; i-- {
		ids = append(ids, nights[i].RunID)
	}
	return ids
}

// Markup from a kernel tree or a patch renders as text on every page
// that shows it.
func TestEscaping(t *testing.T) {
	g, srv := small(t, Options{})
	ids := runIDs(t, g)
	for _, p := range []string{
		treePath(g, 0),
		"/runs/" + ids[len(ids)-1],
		"/runs/" + g.PerPatch + "/matrix",
	} {
		_, _, body := get(t, srv.URL+p)
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(2)&#34;&gt; &amp; &#34;quotes&#34;") {
			t.Errorf("GET %s: the subject is not there escaped", p)
		}
		for _, bad := range []string{"<script", "<img"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s: %q in the page", p, bad)
			}
		}
	}
	// A run's own files never run script: sandboxed, and anything not
	// HTML is text.
	_, h, _ := get(t, srv.URL+"/runs/"+ids[0]+"/files/report.html")
	if !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("report.html served with policy %q", h.Get("Content-Security-Policy"))
	}
	if _, h, _ := get(t, srv.URL+"/runs/"+ids[0]+"/files/run.json"); !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("run.json served as %q", h.Get("Content-Type"))
	}
}

// Nothing outside a run's folder can be reached: not with ../ in any
// spelling, not through a symlink in a run's folder, not through a run
// folder that is itself a link out of the results directory.
func TestPaths(t *testing.T) {
	g, srv := small(t, Options{})
	ids := runIDs(t, g)
	outside := t.TempDir()
	secret := "the-secret-" + strings.Repeat("x", 8)
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(g.Dir, ids[0])
	for name, target := range map[string]string{
		"out.txt":    filepath.Join(outside, "secret.txt"),
		"up.txt":     "../../" + filepath.Base(outside) + "/secret.txt",
		"index.txt":  "../" + results.IndexFile,
		"outdir":     outside,
		"sibling.md": "../" + ids[1] + "/report.md",
	} {
		if err := os.Symlink(target, filepath.Join(run, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A run whose folder is a link out of the results directory.
	if err := os.Rename(filepath.Join(g.Dir, ids[2]), filepath.Join(outside, ids[2])); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, ids[2], "report.md"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, ids[2]), filepath.Join(g.Dir, ids[2])); err != nil {
		t.Fatal(err)
	}
	base := "/runs/" + ids[0] + "/files/"
	for _, p := range []string{
		base + "../../../../../../etc/passwd",
		base + "..%2f..%2f..%2f..%2fetc%2fpasswd",
		base + "%2e%2e/%2e%2e/" + results.IndexFile,
		base + "..%2F" + results.IndexFile,
		base + "%2fetc%2fpasswd",
		base + "out.txt",
		base + "up.txt",
		base + "index.txt",
		base + "outdir/secret.txt",
		base + "sibling.md",
		"/runs/" + ids[2] + "/files/report.md",
		"/runs/" + ids[2],
		"/runs/..%2f..%2fetc/files/passwd",
		"/runs/" + ids[0] + "/files/..\\..\\" + results.IndexFile,
	} {
		code, _, body := get(t, srv.URL+p)
		if code == 200 || strings.Contains(body, secret) || strings.Contains(body, "root:") || strings.Contains(body, "SQLite format") {
			t.Errorf("GET %s: %d, %.200q", p, code, body)
		}
	}
	// The same files are served where they are inside.
	if code, _, _ := get(t, srv.URL+base+"report.md"); code != 200 {
		t.Errorf("report.md: %d", code)
	}
}

// The dashboard writes nothing: other methods are refused, and the
// index is byte for byte what it was after pages were served.
func TestReadOnly(t *testing.T) {
	g, srv := small(t, Options{})
	sum := func() [32]byte {
		b, err := os.ReadFile(filepath.Join(g.Dir, results.IndexFile))
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, srv.URL+"/runs/"+g.PerPatch, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want 405", m, resp.StatusCode)
		}
	}
	for _, p := range []string{"/", "/nights", "/bench", "/cases/" + g.Changed} {
		get(t, srv.URL+p)
	}
	if sum() != before {
		t.Error("serving pages changed the index")
	}
}

// Behind a base URL every link carries its path, and requests outside it
// are not served.
func TestBaseURL(t *testing.T) {
	g, srv := small(t, Options{BaseURL: "https://ci.example.org/patchtest/"})
	code, _, body := get(t, srv.URL+"/patchtest/")
	if code != 200 || !strings.Contains(body, `href="/patchtest/runs/`+g.PerPatch+`"`) || !strings.Contains(body, `href="/patchtest/nights"`) {
		t.Errorf("/patchtest/: %d %.400s", code, body)
	}
	if code, _, _ := get(t, srv.URL+"/runs/"+g.PerPatch); code != 404 {
		t.Errorf("outside the base path: %d", code)
	}
	if code, _, _ := get(t, srv.URL+"/patchtestx/"); code != 404 {
		t.Errorf("a longer first segment: %d", code)
	}
	if got, want := results.RunURL("https://ci.example.org/patchtest/", "20260101T020000Z"), "https://ci.example.org/patchtest/runs/20260101T020000Z"; got != want {
		t.Errorf("RunURL: %s, want %s", got, want)
	}
	if _, err := New(Options{Dir: g.Dir, BaseURL: "ci.example.org"}); err == nil {
		t.Error("a base URL without a scheme was taken")
	}
}

// Behind a base URL the mux's own redirects keep the base path.
func TestBaseURLRedirects(t *testing.T) {
	g, srv := small(t, Options{BaseURL: "https://ci.example.org/patchtest/"})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for p, want := range map[string]string{
		"/patchtest/runs/" + g.PerPatch + "/files":    "/patchtest/runs/" + g.PerPatch + "/files/",
		"/patchtest/runs/./" + g.PerPatch + "/files/": "/patchtest/runs/" + g.PerPatch + "/files/",
	} {
		resp, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want a redirect to %q", p, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

// Links escape each path segment once, under an escaped prefix.
func TestLink(t *testing.T) {
	s := &Server{esc: (&url.URL{Path: "/p q"}).EscapedPath()}
	for _, tc := range []struct{ got, want string }{
		{s.link(results.RunPath("a b%c/d"), nil), "/p%20q/runs/a%20b%25c%2Fd"},
		{s.link(results.RunPath("a b")+"/files/"+escape("dir x/f#1.txt"), nil), "/p%20q/runs/a%20b/files/dir%20x/f%231.txt"},
		{s.link("/cases/"+escape("splice/a b/c?"), nil), "/p%20q/cases/splice/a%20b/c%3F"},
		{s.link("/bench/"+escape("splice/x"), url.Values{"metric": {"B/s"}}), "/p%20q/bench/splice/x?metric=B%2Fs"},
		{s.link("/", nil), "/p%20q/"},
	} {
		if tc.got != tc.want {
			t.Errorf("link %q, want %q", tc.got, tc.want)
		}
	}
}

// A FIFO in a run's folder is refused at once rather than holding the
// request; a page number past any run is an empty page; a run whose
// record cannot be read is a 500 that names the request, not the host's
// paths, which go to the error log.
func TestOddRequests(t *testing.T) {
	g, err := dashtest.Generate(t.Context(), t.TempDir(), dashtest.Spec{Trees: 1, Nights: 4, Cases: 4, Benchmarks: 1, Files: true})
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	s, err := New(Options{Dir: g.Dir, ErrorLog: log.New(&logged, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	ids := runIDs(t, g)
	if err := unix.Mkfifo(filepath.Join(g.Dir, ids[0], "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/runs/"+ids[0]+"/files/fifo", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET a FIFO: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET a FIFO: %d, want 403", resp.StatusCode)
	}
	if code, _, body := get(t, srv.URL+"/runs/"+ids[0]+"/files/"); code != 200 || !strings.Contains(body, "fifo") {
		t.Errorf("listing a folder with a FIFO: %d", code)
	}
	for _, p := range []string{"/?page=92233720368547758", "/?page=-3", "/?page=x"} {
		if code, _, _ := get(t, srv.URL+p); code != 200 {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	if err := os.WriteFile(filepath.Join(g.Dir, ids[1], "run.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, body := get(t, srv.URL+"/runs/"+ids[1])
	if code != http.StatusInternalServerError || strings.Contains(body, g.Dir) || !strings.Contains(body, ids[1]) {
		t.Errorf("GET a broken run: %d %q", code, body)
	}
	if !strings.Contains(logged.String(), filepath.Join(g.Dir, ids[1])) {
		t.Errorf("the error log has %q, want the broken record's path", logged.String())
	}
}

// A run whose index row names the results directory itself (or a path
// that resolves to it) is refused: its "folder" would be the index and
// every other run.
func TestRunFolderIsOneFolder(t *testing.T) {
	g, srv := small(t, Options{})
	ids := runIDs(t, g)
	db, err := sql.Open("sqlite", filepath.Join(g.Dir, results.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, dir := range []string{g.Dir, g.Dir + "/.", g.Dir + "/" + ids[1] + "/..", "", ".", "/"} {
		if _, err := db.ExecContext(t.Context(), `UPDATE runs SET dir = ? WHERE id = ?`, dir, ids[0]); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/files/", "/files/" + results.IndexFile, "/files/" + ids[1] + "/run.json"} {
			code, _, body := get(t, srv.URL+"/runs/"+ids[0]+p)
			if code == 200 && (strings.Contains(body, results.IndexFile) || strings.Contains(body, ids[1]) || strings.Contains(body, "SQLite format")) {
				t.Errorf("dir %q: GET %s: %d, %.200q", dir, p, code, body)
			}
		}
	}
}
