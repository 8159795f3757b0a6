package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"
)

func (b *Builder) buildsDir() string { return filepath.Join(b.CacheDir, "kernels", "builds") }

// workDir is where p's source tree and output directories live: one per
// source, and for git one per project (repositories sharing their root
// commit), whichever commit is built, so that building another commit
// (a same-tree baseline, a bisect step, the next night) recompiles only
// what changed between the two.
func (b *Builder) workDir(p *plan) string {
	id := p.src.ID
	switch {
	case p.src.IsGit() && p.src.Root != "":
		id = "git-project:" + p.src.Root
	case p.src.IsGit():
		if abs, err := filepath.Abs(p.src.Path); err == nil {
			id = "git-repository:" + abs
		}
	}
	sum := sha256.Sum256([]byte(id))
	return filepath.Join(b.CacheDir, "kernels", "work", hex.EncodeToString(sum[:])[:16])
}

// outName names the output directory of p's configuration: one per base
// and fragments, so that kernels of one source built with different
// configurations (a debug build, one without CONFIG_BUG) do not recompile
// each other's objects; a series shares its configuration's directory.
func (p *plan) outName() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", p.baseKey())
	for _, f := range p.fragments {
		fmt.Fprintf(h, "%s %d\n", f.name, len(f.data))
		h.Write(f.data)
	}
	return "out-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// store copies the artifacts into the cache atomically: a temporary
// directory renamed into place, its record written last.
func (b *Builder) store(bld *Build, out, src, log string) error {
	dir := filepath.Join(b.buildsDir(), bld.Key)
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	for dst, src := range map[string]string{
		"bzImage":    filepath.Join(out, "arch/x86/boot/bzImage"),
		"config":     filepath.Join(out, ".config"),
		"System.map": filepath.Join(out, "System.map"),
		"build.log":  log,
	} {
		if err := copyFile(filepath.Join(tmp, dst), src); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("store build: %w", err)
		}
	}
	if isGcov(filepath.Join(out, ".config")) {
		if err := storeGcov(out, src, filepath.Join(tmp, GcovDir)); err != nil {
			os.RemoveAll(tmp)
			return err
		}
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	bld.Dir = dir
	bld.BzImage = filepath.Join(dir, "bzImage")
	bld.Config = filepath.Join(dir, "config")
	bld.SystemMap = filepath.Join(dir, "System.map")
	bld.Log = filepath.Join(dir, "build.log")
	rec, err := json.MarshalIndent(bld, "", "  ")
	if err != nil {
		return err
	}
	return renameio.WriteFile(filepath.Join(dir, "build.json"), append(rec, '\n'), 0o644)
}

// lookup returns the cached build with key, if it is complete.
func (b *Builder) lookup(key string) (*Build, error) {
	data, err := os.ReadFile(filepath.Join(b.buildsDir(), key, "build.json"))
	if err != nil {
		return nil, err
	}
	var bld Build
	if err := json.Unmarshal(data, &bld); err != nil {
		return nil, err
	}
	// The artifacts are wherever the cache is now, even when it moved
	// since the build (a copied or restored CI cache).
	bld.Dir = filepath.Join(b.buildsDir(), key)
	for _, p := range []*string{&bld.BzImage, &bld.Config, &bld.SystemMap, &bld.Log} {
		if *p != "" {
			*p = filepath.Join(bld.Dir, filepath.Base(*p))
		}
	}
	if _, err := os.Stat(bld.BzImage); err != nil {
		return nil, err
	}
	bld.Cached = true
	return &bld, nil
}

// List returns the cached builds, newest first.
func (b *Builder) List() ([]*Build, error) {
	ents, err := os.ReadDir(b.buildsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Build
	for _, e := range ents {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		if bld, err := b.lookup(e.Name()); err == nil {
			bld.Cached = false
			out = append(out, bld)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Built.After(out[j].Built) })
	return out, nil
}

// Clean removes the cached builds and, with all, the source trees,
// build directories and downloads too.
func (b *Builder) Clean(all bool) error {
	if err := os.RemoveAll(b.buildsDir()); err != nil {
		return err
	}
	if all {
		if err := os.RemoveAll(filepath.Join(b.CacheDir, "kernels")); err != nil {
			return err
		}
		return os.RemoveAll(filepath.Join(b.CacheDir, "downloads"))
	}
	return nil
}

// lock takes an exclusive lock on path, waiting (and saying so) while
// another build holds it.
func lock(ctx context.Context, path string, progress func(string, ...any)) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		progress("waiting for another build of this source to finish (%s)", path)
		for unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			select {
			case <-ctx.Done():
				f.Close()
				return nil, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return func() {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
