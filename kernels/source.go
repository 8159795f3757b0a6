package kernels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// SourceKind is where kernel source comes from.
type SourceKind string

// Source kinds.
const (
	SourceDebian  SourceKind = "debian"  // Debian's linux-source-X package
	SourceGit     SourceKind = "git"     // a commit of a local git repository
	SourceDir     SourceKind = "dir"     // a plain directory
	SourceTarball SourceKind = "tarball" // a .tar, .tar.gz, .tar.xz… file
)

// DefaultSource is the source used when none is given.
const DefaultSource = "debian:6.12"

// Source is a kernel source tree, identified precisely.
type Source struct {
	Spec string // as the user wrote it
	Kind SourceKind
	// Path is the repository, directory or tarball; for Debian, the
	// package name (linux-source-6.12).
	Path string
	Ref  string // git ref; HEAD when empty
	// ID identifies the exact source: the package version, the commit,
	// the tarball's hash, or a hash of the directory's file list, sizes
	// and modification times.
	ID string
	// Root is, for git, the repository's first root commit: clones of
	// one project share it, and share one source tree in the cache.
	Root string
}

// ParseSource parses a --source argument: debian:6.12, git:PATH[@REF], a
// tarball path or a directory.
func ParseSource(spec string) (Source, error) {
	s := Source{Spec: spec}
	switch {
	case strings.HasPrefix(spec, "debian:"):
		v := strings.TrimPrefix(spec, "debian:")
		if !regexp.MustCompile(`^\d+\.\d+$`).MatchString(v) {
			return s, fmt.Errorf("source %q: want debian:MAJOR.MINOR, such as debian:6.12", spec)
		}
		s.Kind, s.Path = SourceDebian, "linux-source-"+v
	case strings.HasPrefix(spec, "git:"):
		s.Kind = SourceGit
		s.Path = strings.TrimPrefix(spec, "git:")
		if i := strings.LastIndexByte(s.Path, '@'); i > 0 {
			s.Path, s.Ref = s.Path[:i], s.Path[i+1:]
		}
		if _, err := os.Stat(filepath.Join(s.Path, ".git")); err != nil {
			return s, fmt.Errorf("source %q: %s is not a git repository", spec, s.Path)
		}
	default:
		st, err := os.Stat(spec)
		if err != nil {
			return s, fmt.Errorf("source %q: %w; want debian:6.12, git:PATH[@REF], a directory or a tarball", spec, err)
		}
		s.Path = spec
		if st.IsDir() {
			s.Kind = SourceDir
			if _, err := os.Stat(filepath.Join(spec, "Makefile")); err != nil {
				return s, fmt.Errorf("source %q: no Makefile; is it a kernel tree?", spec)
			}
		} else {
			s.Kind = SourceTarball
		}
	}
	return s, nil
}

// Identify fills in s.ID. For Debian it asks apt for the candidate
// version, falling back to the newest download in cacheDir when apt cannot
// answer (offline).
func (s *Source) Identify(ctx context.Context, cacheDir string) error {
	switch s.Kind {
	case SourceDebian:
		v, err := aptCandidate(ctx, s.Path)
		if err != nil {
			if debs, _ := filepath.Glob(filepath.Join(cacheDir, "downloads", s.Path+"_*.deb")); len(debs) > 0 {
				sortVersions(debs)
				base := filepath.Base(debs[len(debs)-1])
				v = strings.TrimSuffix(strings.SplitN(base, "_", 3)[1], ".deb")
			} else {
				return fmt.Errorf("source %s: %w", s.Spec, err)
			}
		}
		s.ID = "debian:" + s.Path + "=" + v
	case SourceGit:
		ref := s.Ref
		if ref == "" {
			ref = "HEAD"
		}
		out, err := exec.CommandContext(ctx, "git", "-C", s.Path, "rev-parse", "--verify", ref+"^{commit}").Output()
		if err != nil {
			return fmt.Errorf("source %s: no commit %q in %s", s.Spec, ref, s.Path)
		}
		s.ID = "git:" + strings.TrimSpace(string(out))
		if roots, err := exec.CommandContext(ctx, "git", "-C", s.Path, "rev-list", "--max-parents=0", strings.TrimPrefix(s.ID, "git:")).Output(); err == nil {
			if f := strings.Fields(string(roots)); len(f) > 0 {
				s.Root = f[len(f)-1]
			}
		}
	case SourceTarball:
		h, err := hashFile(s.Path)
		if err != nil {
			return fmt.Errorf("source %s: %w", s.Spec, err)
		}
		s.ID = "tarball:" + h
	case SourceDir:
		h, err := hashTree(s.Path)
		if err != nil {
			return fmt.Errorf("source %s: %w", s.Spec, err)
		}
		s.ID = "dir:" + h
	}
	return nil
}

func aptCandidate(ctx context.Context, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "apt-cache", "policy", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("apt-cache policy %s: %w", pkg, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Candidate:"); ok {
			if v = strings.TrimSpace(v); v != "" && v != "(none)" {
				return v, nil
			}
		}
	}
	return "", fmt.Errorf("apt knows no version of %s; run apt-get update, or check that it is in your Debian release", pkg)
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashTree hashes a directory's file names, sizes and modification times
// (not contents: a kernel tree is 1.5 GB), skipping .git.
func hashTree(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", rel, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// IsGit reports whether the materialised tree is a git checkout (patches
// are then applied with git am).
func (s Source) IsGit() bool { return s.Kind == SourceGit }

// Materialize puts a pristine copy of the source at dst, which must not
// exist. progress receives a line per long step.
func (s Source) Materialize(ctx context.Context, cacheDir, dst string, progress func(string)) error {
	tmp := dst + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	var err error
	switch s.Kind {
	case SourceDebian:
		err = s.materializeDebian(ctx, cacheDir, tmp, progress)
	case SourceGit:
		progress(fmt.Sprintf("cloning %s at %s", s.Path, strings.TrimPrefix(s.ID, "git:")))
		// A local clone hard-links the objects: it outlives the
		// repository it came from (a scratch repository, a removed
		// worktree), unlike --shared.
		err = run(ctx, "", "git", "clone", "--quiet", "--no-checkout", s.Path, tmp)
		if err == nil {
			// No background gc in the cache's copy: a repack of a large
			// clone while a kernel builds only takes CPU from it.
			err = run(ctx, tmp, "git", "config", "gc.auto", "0")
		}
		if err == nil {
			err = run(ctx, tmp, "git", "checkout", "--quiet", "--detach", strings.TrimPrefix(s.ID, "git:"))
		}
	case SourceDir:
		progress("copying " + s.Path)
		if err = os.MkdirAll(tmp, 0o755); err == nil {
			err = run(ctx, "", "cp", "-a", "--reflink=auto", s.Path+"/.", tmp)
		}
	case SourceTarball:
		progress("unpacking " + s.Path)
		err = untar(ctx, s.Path, tmp)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("source %s: %w", s.Spec, err)
	}
	return os.Rename(tmp, dst)
}

// checkout makes the materialized git tree at dst hold s's commit,
// fetching it from the repository when the copy lacks it; other sources
// are left as they are.
func (s Source) checkout(ctx context.Context, dst string, progress func(string)) error {
	if !s.IsGit() {
		return nil
	}
	commit := strings.TrimPrefix(s.ID, "git:")
	head, err := exec.CommandContext(ctx, "git", "-C", dst, "rev-parse", "HEAD").Output()
	if err == nil && strings.TrimSpace(string(head)) == commit {
		return nil
	}
	if err := run(ctx, dst, "git", "cat-file", "-e", commit+"^{commit}"); err != nil {
		abs, _ := filepath.Abs(s.Path)
		if err := run(ctx, dst, "git", "fetch", "--quiet", abs, commit); err != nil {
			return fmt.Errorf("source %s: fetch %s: %w", s.Spec, commit, err)
		}
	}
	if progress != nil {
		progress(fmt.Sprintf("checking out %s in %s", commit[:min(12, len(commit))], dst))
	}
	if err := run(ctx, dst, "git", "checkout", "--quiet", "--force", "--detach", commit); err != nil {
		return fmt.Errorf("source %s: %w", s.Spec, err)
	}
	return run(ctx, dst, "git", "clean", "-fdq")
}

func (s Source) materializeDebian(ctx context.Context, cacheDir, dst string, progress func(string)) error {
	version := strings.TrimPrefix(s.ID, "debian:"+s.Path+"=")
	dl := filepath.Join(cacheDir, "downloads")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return err
	}
	deb := filepath.Join(dl, fmt.Sprintf("%s_%s_all.deb", s.Path, strings.ReplaceAll(version, ":", "%3a")))
	if _, err := os.Stat(deb); err != nil {
		progress(fmt.Sprintf("downloading %s %s (about 150 MB)", s.Path, version))
		tmp, err := os.MkdirTemp(dl, ".apt-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := run(ctx, tmp, "apt-get", "download", s.Path+"="+version); err != nil {
			return err
		}
		got, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
		if len(got) != 1 {
			return errors.New("apt-get download produced no .deb")
		}
		if err := os.Rename(got[0], deb); err != nil {
			return err
		}
	}
	progress("unpacking " + filepath.Base(deb))
	x, err := os.MkdirTemp(filepath.Dir(dst), ".deb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(x)
	if err := run(ctx, "", "dpkg-deb", "-x", deb, x); err != nil {
		return err
	}
	tars, _ := filepath.Glob(filepath.Join(x, "usr", "src", "linux-source-*.tar.*"))
	if len(tars) != 1 {
		return fmt.Errorf("%s holds no usr/src/linux-source-*.tar.*", deb)
	}
	return untar(ctx, tars[0], dst)
}

// untar unpacks a tarball into dst, dropping a single top-level directory.
func untar(ctx context.Context, tarball, dst string) error {
	x := dst + ".x"
	os.RemoveAll(x)
	if err := os.MkdirAll(x, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(x)
	if err := run(ctx, "", "tar", "-C", x, "-xaf", tarball); err != nil {
		return fmt.Errorf("unpack %s: %w", tarball, err)
	}
	ents, err := os.ReadDir(x)
	if err != nil {
		return err
	}
	root := x
	if len(ents) == 1 && ents[0].IsDir() {
		root = filepath.Join(x, ents[0].Name())
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		return fmt.Errorf("%s is not a kernel source tarball (no top-level Makefile)", tarball)
	}
	return os.Rename(root, dst)
}

// run runs a command, returning its output's tail in the error.
func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out.String(), 20))
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// gitIdentity is a git source's commit, and its repository's URL and
// branch where the repository knows them: the ref when it is a branch
// (HEAD's branch when no ref was given), and the URL of that branch's
// upstream remote, else of origin. Nil for other sources.
func (s Source) gitIdentity(ctx context.Context) *GitIdentity {
	if !s.IsGit() {
		return nil
	}
	id := &GitIdentity{Commit: strings.TrimPrefix(s.ID, "git:")}
	git := func(args ...string) string {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", s.Path}, args...)...).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	switch {
	case s.Ref == "":
		id.Branch = git("symbolic-ref", "--quiet", "--short", "HEAD")
	case exec.CommandContext(ctx, "git", "-C", s.Path, "show-ref", "--verify", "--quiet", "refs/heads/"+s.Ref).Run() == nil:
		id.Branch = s.Ref
	}
	remote := "origin"
	if id.Branch != "" {
		if r := git("config", "branch."+id.Branch+".remote"); r != "" && r != "." {
			remote = r
		}
	}
	id.URL = git("remote", "get-url", remote)
	return id
}
