// Package selftest builds the kernel selftests patchtest runs as peer
// suites (the splice tests, mm/cow, net/tls) from a kernel source tree:
// statically, so that they run in an initramfs without a libc, and cached
// by the identity of every file that goes into them. A test that does not
// build from a tree is recorded with the compiler's error, not fatal: the
// guest reports it as a skip with that reason.
package selftest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/renameio/v2"
)

// Program is one selftest program built from the source tree.
type Program struct {
	// Name is DIR/PROGRAM, under tools/testing/selftests: "mm/cow".
	Name string
	// Sources are the C files, relative to DIR; the first is the one
	// with main. Later ones missing from a tree are left out (older
	// trees have no thp_settings.c).
	Sources []string
}

// Dir is the selftests directory the program lives in.
func (p Program) Dir() string { d, _, _ := strings.Cut(p.Name, "/"); return d }

// Programs are the selftests patchtest builds.
var Programs = []Program{
	{Name: "splice/default_file_splice_read", Sources: []string{"default_file_splice_read.c"}},
	{Name: "splice/splice_read", Sources: []string{"splice_read.c"}},
	{Name: "mm/cow", Sources: []string{"cow.c", "vm_util.c", "thp_settings.c"}},
	{Name: "net/tls", Sources: []string{"tls.c"}},
}

// Scripts are the selftests' shell scripts copied beside the programs.
var Scripts = []string{"splice/default_file_splice_read.sh", "splice/short_splice_read.sh"}

// ManifestFile is the manifest's name in a built directory.
const ManifestFile = "manifest.json"

// Manifest says what a built directory holds.
type Manifest struct {
	// Source is the source tree the tests were built from.
	Source string `json:"source"`
	// Key is the cache key: a hash of every input.
	Key string `json:"key"`
	// Compiler is the compiler's version line.
	Compiler string `json:"compiler"`
	// Headers says where the UAPI headers came from.
	Headers string `json:"headers"`
	// Failed maps a program or script that is not there to why: the
	// compiler's first error, or that the tree lacks its source.
	Failed map[string]string `json:"failed,omitempty"`
}

// ReadManifest reads dir's manifest.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// Request says what to build.
type Request struct {
	// Source is a kernel source tree (it has tools/testing/selftests).
	Source string
	// CacheDir holds the built directories, one per key.
	CacheDir string
	// CC is the compiler; "gcc" when empty.
	CC string
	// Log receives the build's commands and compiler output; nil
	// discards them.
	Log io.Writer
}

// Built is a built directory.
type Built struct {
	Dir      string
	Manifest *Manifest
	Cached   bool
}

// CheckSource returns an error unless dir looks like a kernel source tree
// with selftests, naming what to point at instead.
func CheckSource(dir string) error {
	st, err := os.Stat(filepath.Join(dir, "tools/testing/selftests"))
	if err != nil || !st.IsDir() {
		return fmt.Errorf("%s has no tools/testing/selftests: point at the kernel's source tree", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "include/uapi")); err != nil {
		return fmt.Errorf("%s has no include/uapi: point at the kernel's source tree", dir)
	}
	return nil
}

// Build builds the selftests from r.Source, or finds them cached.
// A tree that lacks a test's sources (a stripped tarball, an older
// layout) builds what it has; the rest is recorded as not built.
func Build(ctx context.Context, r Request) (*Built, error) {
	if st, err := os.Stat(r.Source); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("selftests: %s is not a directory", r.Source)
	}
	if r.CC == "" {
		r.CC = "gcc"
	}
	if r.Log == nil {
		r.Log = io.Discard
	}
	cc, err := exec.CommandContext(ctx, r.CC, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("selftests: %s --version: %w (install gcc)", r.CC, err)
	}
	ccLine, _, _ := strings.Cut(string(cc), "\n")
	key, err := inputsKey(r.Source, ccLine)
	if err != nil {
		return nil, fmt.Errorf("selftests: hash the sources: %w", err)
	}
	dir := filepath.Join(r.CacheDir, "kselftest", key)
	if m, err := ReadManifest(dir); err == nil {
		return &Built{Dir: dir, Manifest: m, Cached: true}, nil
	}
	tmp, err := os.MkdirTemp(r.CacheDir, ".kselftest-")
	if err != nil {
		return nil, fmt.Errorf("selftests: %w", err)
	}
	defer os.RemoveAll(tmp)
	m := &Manifest{Source: r.Source, Key: key, Compiler: ccLine, Failed: map[string]string{}}
	hdr, how, err := headers(ctx, r, filepath.Join(tmp, "obj"))
	if err != nil {
		return nil, err
	}
	m.Headers = how
	out := filepath.Join(tmp, "out")
	cfg := filepath.Join(tmp, "cfg")
	if err := os.MkdirAll(cfg, 0o755); err != nil {
		return nil, err
	}
	// mm's check_config.sh would probe for liburing; without it cow's
	// io_uring cases are left out, as on a machine without the library.
	if err := os.WriteFile(filepath.Join(cfg, "local_config.h"), []byte("/* no liburing */\n"), 0o644); err != nil {
		return nil, err
	}
	st := filepath.Join(r.Source, "tools/testing/selftests")
	for _, p := range Programs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if why := compile(ctx, r, p, st, hdr, cfg, out); why != "" {
			m.Failed[p.Name] = why
		}
	}
	for _, s := range Scripts {
		b, err := os.ReadFile(filepath.Join(st, s))
		if err != nil {
			m.Failed[s] = "the source tree has no tools/testing/selftests/" + s
			continue
		}
		if err := os.MkdirAll(filepath.Join(out, filepath.Dir(s)), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(out, s), b, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	if err := renameio.WriteFile(filepath.Join(out, ManifestFile), append(mb, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(out, dir); err != nil {
		if m2, err2 := ReadManifest(dir); err2 == nil {
			return &Built{Dir: dir, Manifest: m2, Cached: true}, nil // another build won
		}
		return nil, fmt.Errorf("selftests: %w", err)
	}
	return &Built{Dir: dir, Manifest: m}, nil
}

// headers makes the tree's UAPI headers into obj with `make headers`
// (which leaves the source tree alone); a tree built in place refuses an
// output directory, and then its own usr/include serves when it is
// there. The host's /usr/include is the last resort, and the manifest
// says so.
func headers(ctx context.Context, r Request, obj string) (string, string, error) {
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", r.Source, "O="+obj, "headers")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	fmt.Fprintf(r.Log, "make -C %s O=%s headers\n", r.Source, obj)
	err := cmd.Run()
	r.Log.Write(out.Bytes())
	if err == nil {
		return filepath.Join(obj, "usr/include"), "make headers", nil
	}
	if ctx.Err() != nil {
		return "", "", ctx.Err()
	}
	if _, err := os.Stat(filepath.Join(r.Source, "usr/include/linux")); err == nil {
		return filepath.Join(r.Source, "usr/include"), "the tree's usr/include", nil
	}
	return "/usr/include", "the host's /usr/include (make headers failed: " + firstLine(out.String()) + ")", nil
}

// compile builds one program statically into out; it returns why not, or "".
func compile(ctx context.Context, r Request, p Program, st, hdr, cfg, out string) string {
	dir := filepath.Join(st, p.Dir())
	var srcs []string
	for i, s := range p.Sources {
		if _, err := os.Stat(filepath.Join(dir, s)); err != nil {
			if i == 0 {
				return "the source tree has no tools/testing/selftests/" + p.Dir() + "/" + s
			}
			continue
		}
		srcs = append(srcs, s)
	}
	dst := filepath.Join(out, p.Name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err.Error()
	}
	args := []string{"-static", "-O2", "-Wall", "-pthread", "-isystem", hdr, "-I" + cfg, "-I" + st, "-I" + dir, "-o", dst}
	args = append(args, srcs...)
	cmd := exec.CommandContext(ctx, r.CC, args...)
	cmd.Dir = dir
	var o bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &o
	fmt.Fprintf(r.Log, "%s %s\n", r.CC, strings.Join(args, " "))
	err := cmd.Run()
	r.Log.Write(o.Bytes())
	if err == nil {
		return ""
	}
	return "does not build: " + firstError(o.String(), err)
}

// firstError is the compiler's first error line, else err.
func firstError(out string, err error) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "error:") {
			return strings.TrimSpace(l)
		}
	}
	if l := firstLine(out); l != "" {
		return l
	}
	return err.Error()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// inputDirs are the source paths a build reads (see inputsKey).
var inputDirs = []string{"tools/testing/selftests/splice/", "tools/testing/selftests/mm/", "tools/testing/selftests/net/",
	"include/uapi/", "arch/x86/include/uapi/", "scripts/headers_install.sh", "mm/gup_test.h"}

// Reads reports whether a build reads the source file path (relative to
// the tree's top): a series that touches none of them builds the same
// selftests as the tree without it.
func Reads(path string) bool {
	if strings.HasPrefix(path, "tools/testing/selftests/") && !strings.Contains(strings.TrimPrefix(path, "tools/testing/selftests/"), "/") {
		return true // the selftests' shared headers
	}
	for _, d := range inputDirs {
		if strings.HasPrefix(path, d) {
			return true
		}
	}
	return false
}

// keyVersion changes whenever the way the tests are built changes.
const keyVersion = "patchtest-kselftest-1"

// inputsKey hashes every file that goes into the build: the programs'
// directories' C sources, headers and scripts, the selftests' shared
// headers, mm's gup_test.h and the UAPI header trees, and the compiler.
func inputsKey(src, cc string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", keyVersion, cc)
	for _, p := range Programs {
		fmt.Fprintf(h, "program %s %s\n", p.Name, strings.Join(p.Sources, " "))
	}
	var files []string
	add := func(dir string, recursive bool, keep func(string) bool) error {
		root := filepath.Join(src, dir)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				if p != root && !recursive {
					return filepath.SkipDir
				}
				return nil
			}
			if keep(p) {
				files = append(files, p)
			}
			return nil
		})
		return err
	}
	isSrc := func(p string) bool {
		return strings.HasSuffix(p, ".c") || strings.HasSuffix(p, ".h") || strings.HasSuffix(p, ".sh")
	}
	all := func(string) bool { return true }
	for _, d := range []string{"tools/testing/selftests/splice", "tools/testing/selftests/mm", "tools/testing/selftests/net"} {
		if err := add(d, false, isSrc); err != nil {
			return "", err
		}
	}
	if err := add("tools/testing/selftests", false, func(p string) bool { return strings.HasSuffix(p, ".h") }); err != nil {
		return "", err
	}
	for _, d := range []string{"include/uapi", "arch/x86/include/uapi", "scripts/headers_install.sh", "mm/gup_test.h"} {
		if err := add(d, true, all); err != nil {
			return "", err
		}
	}
	sort.Strings(files)
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(src, p)
		fmt.Fprintf(h, "file %s\n", rel)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}
