package dashboard

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/patchtest/patchtest/results"
)

// filePolicy is the policy of a run's own files: a sandbox (a unique
// origin, no script, no form), styles and images of its own.
const filePolicy = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"

// fileTypes are the media types a run's files are served as, by
// extension; anything else is plain text (kernel logs, C reproducers,
// JSON, XML) so that a browser never interprets it.
var fileTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".css":  "text/css; charset=utf-8",
	".gz":   "application/octet-stream",
	".zst":  "application/octet-stream",
}

// runFile serves one file from inside a run's folder, or lists a folder
// of it. The path must be local (no .., no absolute path) and is opened
// through os.Root, which refuses a symlink that leads out of the folder.
func (s *Server) runFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("path")
	if name == "" {
		name = "."
	}
	if !filepath.IsLocal(name) || strings.Contains(name, "\\") {
		http.Error(w, "not a path inside the run's folder", http.StatusBadRequest)
		return
	}
	run, err := s.x.Run(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	root, _, err := s.runFolder(run)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer root.Close()
	// Non-blocking, so that a FIFO in the folder answers as what it is
	// (not a regular file) instead of holding the request.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if st.IsDir() {
		ents, err := f.ReadDir(-1)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		var files []fileEntry
		for _, e := range ents {
			fe := fileEntry{Name: e.Name(), Dir: e.IsDir()}
			if fi, err := e.Info(); err == nil {
				fe.Size = fi.Size()
			}
			if e.Type()&fs.ModeSymlink != 0 {
				fe.Name += "@"
			}
			fe.Link = s.link(results.RunPath(run.ID)+"/files/"+escape(path.Join(filepath.ToSlash(name), e.Name())), nil)
			files = append(files, fe)
		}
		s.render(w, r, "files", filesView{page: s.page("Files of run " + run.ID), Run: run, Path: name, Files: files})
		return
	}
	if !st.Mode().IsRegular() {
		http.Error(w, "not a regular file", http.StatusForbidden)
		return
	}
	ct, ok := fileTypes[strings.ToLower(path.Ext(name))]
	if !ok {
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Security-Policy", filePolicy)
	http.ServeContent(w, r, "", st.ModTime().Truncate(time.Second), f)
}

// fileEntry is one entry of a run folder's listing.
type fileEntry struct {
	Name, Link string
	Dir        bool
	Size       int64
}

type filesView struct {
	page
	Run   any
	Path  string
	Files []fileEntry
}

// fail answers an error: a run or file that is not there is 404, a file
// that cannot be opened inside the folders 403, anything else 500. The
// answer names what was asked, never a host path; the error itself goes
// to the error log.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, results.ErrNoRun):
		code = http.StatusNotFound
	case errors.As(err, &pe):
		// os.Root's refusals (a path or link leading out of the
		// folder) and the host's own.
		code = http.StatusForbidden
	}
	s.log.Printf("GET %s: %d: %v", r.URL.Path, code, err)
	http.Error(w, http.StatusText(code)+": "+r.URL.Path, code)
}
