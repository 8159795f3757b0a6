// Package build finds the guest binary (init, agent and suites in one
// executable): compiled from this repository's source, and cached by a
// hash of that source, or patchtest itself where no source is at hand.
package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// ModulePath is this repository's Go module path.
const ModulePath = "github.com/patchtest/patchtest"

// Package is the guest binary's package, relative to the module root.
const Package = "./guest/cmd/patchtest-guest"

// guestTrees are the parts of the repository the guest binary is built
// from: init and agent, and the suites it runs. It imports nothing else of
// the module (a test checks this).
var guestTrees = []string{"guest", "suites"}

// ErrNoSource means the repository's source could not be found.
var ErrNoSource = errors.New("patchtest source not found")

// FindSource returns the root of this repository: from $PATCHTEST_SRC, or by
// walking up from the working directory and then from the executable.
func FindSource() (string, error) {
	if dir := os.Getenv("PATCHTEST_SRC"); dir != "" {
		if isRoot(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("%w: PATCHTEST_SRC=%s is not the patchtest repository", ErrNoSource, dir)
	}
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	for _, s := range starts {
		for dir := s; ; dir = filepath.Dir(dir) {
			if isRoot(dir) {
				return dir, nil
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", fmt.Errorf("%w: run patchtest inside its repository, set PATCHTEST_SRC, or pass --guest-binary", ErrNoSource)
}

func isRoot(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(first) == "module "+ModulePath
}

// SourceKey hashes everything the guest binary is built from: the Go
// version, go.mod, go.sum and every file under guest/.
func SourceKey(ctx context.Context, src string) (string, error) {
	gover, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w (is Go installed?)", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", bytes.TrimSpace(gover))
	var files []string
	for _, f := range []string{"go.mod", "go.sum"} {
		files = append(files, filepath.Join(src, f))
	}
	for _, tree := range guestTrees {
		err = filepath.WalkDir(filepath.Join(src, tree), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("hash guest source: %w", err)
		}
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("hash guest source: %w", err)
		}
		rel, _ := filepath.Rel(src, f)
		fmt.Fprintf(h, "%s %d\n", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// Guest returns the path of the guest binary built from src, compiling it
// into cacheDir unless a build of the same source is cached there.
func Guest(ctx context.Context, src, cacheDir string) (path string, cached bool, err error) {
	key, err := SourceKey(ctx, src)
	if err != nil {
		return "", false, err
	}
	out := filepath.Join(cacheDir, "patchtest-guest-"+key)
	if _, err := os.Stat(out); err == nil {
		return out, true, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", false, fmt.Errorf("build guest: %w", err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, Package)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return "", false, fmt.Errorf("build guest binary in %s: %w\n%s", src, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return "", false, fmt.Errorf("build guest: %w", err)
	}
	return out, false, nil
}

// Agent returns the guest binary a run boots. Inside a checkout of this
// repository, with Go installed, it is built from that source (FromSource),
// so a change to the guest is what runs; anywhere else (patchtest
// installed with go install, run from a kernel tree) it is patchtest's own
// executable, which is its own guest (package guest/entry). self says
// which.
func Agent(ctx context.Context, cacheDir string) (path string, self bool, err error) {
	if _, err := FindSource(); err == nil {
		if _, err := exec.LookPath("go"); err == nil {
			path, err := FromSource(ctx, cacheDir)
			return path, false, err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return "", false, fmt.Errorf("find patchtest's own executable, its own guest: %w", err)
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return "", false, fmt.Errorf("find patchtest's own executable, its own guest: %w", err)
	}
	return stripped(ctx, exe, filepath.Join(cacheDir, "guest")), true, nil
}

// stripped returns a copy of exe without its debug sections, made once
// into dir with objcopy, or exe itself where objcopy is missing or fails:
// a quarter of patchtest's size is DWARF the guest never reads, and every
// byte of /init is unpacked by each boot. The Go build ID (a note, which
// objcopy keeps) is what the host checks the agent by.
func stripped(ctx context.Context, exe, dir string) string {
	st, err := os.Stat(exe)
	if err != nil {
		return exe
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s %d %d", exe, st.Size(), st.ModTime().UnixNano())))
	out := filepath.Join(dir, "patchtest-self-"+hex.EncodeToString(h[:])[:32])
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exe
	}
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	if err := exec.CommandContext(ctx, "objcopy", "--strip-debug", exe, tmp).Run(); err != nil {
		os.Remove(tmp)
		return exe
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return exe
	}
	return out
}

// FromSource returns the guest binary of the repository patchtest runs
// from (FindSource), built into cacheDir/guest or found cached there.
func FromSource(ctx context.Context, cacheDir string) (string, error) {
	src, err := FindSource()
	if err != nil {
		return "", err
	}
	path, _, err := Guest(ctx, src, filepath.Join(cacheDir, "guest"))
	return path, err
}
