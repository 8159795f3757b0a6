// Package dashboard serves a read-only web view of a results directory:
// the runs in its index (filtered by source, tree, branch and verdict),
// each run with its report and files, the nights of every tree a nightly
// job follows, a case's outcome night by night, a benchmark's trend with
// its change points, a per-patch matrix and the diff of two runs.
//
// It reads the index read-only and serves files only from inside run
// folders (through os.Root, so neither ../ nor a symlink reaches past
// one). Every page is html/template output with no script, under a
// Content-Security-Policy that allows none; a run's files are served
// sandboxed, and anything but HTML, SVG and images as plain text.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/patchtest/patchtest/results"
)

// Options say what to serve and where it is reached.
type Options struct {
	// Dir is the results directory: its index and run folders.
	Dir string
	// BaseURL is where users reach the dashboard (e.g.
	// https://ci.example.org/patchtest); its path is the prefix of every
	// link and is stripped from requests. Empty: served at /.
	BaseURL string
	// ErrorLog receives what a failed request's answer leaves out (the
	// host's own error text); nil discards it.
	ErrorLog *log.Logger
}

// Server is the dashboard's http.Handler.
type Server struct {
	dir    string
	prefix string // the base URL's path, unescaped
	esc    string // the same, escaped
	log    *log.Logger
	x      *results.Index
	root   *os.Root
	pages  *template.Template
	mux    *http.ServeMux
}

// New opens the results directory's index read-only and returns the
// dashboard over it.
func New(o Options) (*Server, error) {
	prefix := ""
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("dashboard URL %q: want http(s)://host[/path]", o.BaseURL)
		}
		prefix = strings.TrimRight(u.Path, "/")
	}
	x, err := results.OpenIndexReadOnly(o.Dir)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(o.Dir)
	if err != nil {
		x.Close()
		return nil, fmt.Errorf("results directory: %w", err)
	}
	logger := o.ErrorLog
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	s := &Server{dir: o.Dir, prefix: prefix, esc: (&url.URL{Path: prefix}).EscapedPath(), log: logger, x: x, root: root}
	if s.pages, err = parsePages(s); err != nil {
		s.Close()
		return nil, err
	}
	s.routes()
	return s, nil
}

// Close closes the index and the results directory.
func (s *Server) Close() error {
	return errors.Join(s.x.Close(), s.root.Close())
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.runsPage)
	m.HandleFunc("GET /runs/{id}", s.runPage)
	m.HandleFunc("GET /runs/{id}/matrix", s.matrixPage)
	m.HandleFunc("GET /runs/{id}/files/{path...}", s.runFile)
	m.HandleFunc("GET /nights", s.treesPage)
	m.HandleFunc("GET /nights/tree", s.nightsPage)
	m.HandleFunc("GET /cases/{id...}", s.casePage)
	m.HandleFunc("GET /bench", s.benchesPage)
	m.HandleFunc("GET /bench/{name...}", s.benchPage)
	m.HandleFunc("GET /diff", s.diffPage)
	s.mux = m
}

// pagePolicy allows a page nothing but its own inline styles, inline SVG,
// links back to the dashboard and a frame of the run's own report.html
// (itself sandboxed): no script runs, whatever a kernel or
// a patch put in the text.
const pagePolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP serves the dashboard: read-only (GET and HEAD), every
// response with nosniff and no referrer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", pagePolicy)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard is read-only", http.StatusMethodNotAllowed)
		return
	}
	if s.prefix != "" {
		p, ok := strings.CutPrefix(r.URL.Path, s.prefix)
		if !ok || p != "" && p[0] != '/' {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = p, ""
		if r2.URL.Path == "" {
			r2.URL.Path = "/"
		}
		if raw, ok := strings.CutPrefix(r.URL.EscapedPath(), s.esc); ok && raw != "" {
			r2.URL.RawPath = raw
		}
		r = r2
		// The mux's own redirects (a folder without its slash, a path
		// to clean) name paths without the prefix.
		w = prefixed{w, s.esc}
	}
	s.mux.ServeHTTP(w, r)
}

// prefixed puts the prefix before the path of every redirect's Location.
type prefixed struct {
	http.ResponseWriter
	esc string
}

func (p prefixed) WriteHeader(code int) {
	if code >= 300 && code < 400 {
		if l := p.Header().Get("Location"); strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "//") {
			p.Header().Set("Location", p.esc+l)
		}
	}
	p.ResponseWriter.WriteHeader(code)
}

// link is a dashboard path, already escaped (see escape), with query q,
// under the prefix.
func (s *Server) link(escaped string, q url.Values) string {
	return s.esc + escaped + querySuffix(q.Encode())
}

// escape escapes each slash-separated segment of p.
func escape(p string) string {
	parts := strings.Split(p, "/")
	for i, seg := range parts {
		parts[i] = url.PathEscape(seg)
	}
	return strings.Join(parts, "/")
}

func querySuffix(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

// runFolder opens the run's folder inside the results directory: the
// folder the index names when it is inside, else the one of the run's
// name beside the index (an index moved with its folders).
func (s *Server) runFolder(run results.RunSummary) (*os.Root, string, error) {
	rel := filepath.Base(run.Dir)
	if abs, err := filepath.Abs(run.Dir); err == nil {
		if top, err := filepath.Abs(s.dir); err == nil {
			if r, err := filepath.Rel(top, abs); err == nil && filepath.IsLocal(r) {
				rel = r
			}
		}
	}
	// A run's folder is one folder inside the results directory, never
	// the directory itself (its index and every other run).
	if !filepath.IsLocal(rel) || rel == "." || strings.ContainsRune(rel, filepath.Separator) {
		return nil, "", &fs.PathError{Op: "open", Path: run.Dir, Err: fs.ErrPermission}
	}
	if st, err := s.root.Lstat(rel); err != nil || !st.IsDir() {
		return nil, "", &fs.PathError{Op: "open", Path: run.Dir, Err: fs.ErrPermission}
	}
	root, err := s.root.OpenRoot(rel)
	if err != nil {
		return nil, "", fmt.Errorf("run %s: %w", run.ID, err)
	}
	return root, rel, nil
}

// record reads a run's run.json from its folder.
func (s *Server) record(ctx context.Context, id string) (results.RunSummary, *results.Record, error) {
	run, err := s.x.Run(ctx, id)
	if err != nil {
		return run, nil, err
	}
	root, _, err := s.runFolder(run)
	if err != nil {
		return run, nil, err
	}
	defer root.Close()
	b, err := root.ReadFile("run.json")
	if err != nil {
		return run, nil, fmt.Errorf("run %s: %w", id, err)
	}
	rec, err := results.DecodeRecord(filepath.Join(run.Dir, "run.json"), b)
	return run, rec, err
}
