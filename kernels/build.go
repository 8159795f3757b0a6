package kernels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/patchtest/patchtest/kernels/artifact"
)

// Bases are the configurations fragments are merged onto.
var Bases = []string{"tinyconfig", "defconfig"}

// DefaultFragment is merged into every kernel: what the guest needs.
const DefaultFragment = "guest"

// buildFormat changes whenever the build recipe changes, so that no cached
// kernel built by an older recipe is reused.
// Format 2: kernels built through ccache by format 1 may carry an earlier
// kernel's piggy.o (see wrapperScript).
const buildFormat = "patchtest-kernel-build-2"

// Request says which kernel to build.
type Request struct {
	// Source is a --source argument; DefaultSource when empty.
	Source string
	// Patches is a directory of patches or an mbox; none when empty.
	Patches string
	// Base is tinyconfig (the default) or defconfig.
	Base string
	// Fragments are built-in fragment names (configs/kernel/NAME.config)
	// or paths, merged in order after the guest fragment.
	Fragments []string
	// Config is a kernel .config to build with as it is (make
	// olddefconfig), instead of Base and Fragments: a user's tree built
	// as its own baseline gets the configuration its kernel has.
	Config string
	// PatchCount applies only the first PatchCount patches of the
	// series; all when 0.
	PatchCount int
}

// PatchInfo records one applied patch.
type PatchInfo = artifact.Patch

// GitIdentity names a git source's commit, repository and branch.
type GitIdentity = artifact.GitIdentity

// Build is a built kernel in the cache.
type Build = artifact.Build

// Builder builds kernels into a cache directory.
type Builder struct {
	CacheDir string
	// Jobs is make's -j; the number of CPUs when zero.
	Jobs int
	// NoCompilerCache builds without ccache. Otherwise a build compiles
	// through ccache when it is installed (and PATCHTEST_CCACHE is not
	// "off"), caching in CacheDir/ccache or CCACHE_DIR, with ccache's
	// own settings (CCACHE_REMOTE_STORAGE) from the environment.
	NoCompilerCache bool
	// Progress receives a line for each long step; nil discards them.
	Progress func(string)
}

// line is progress for one line that is already formatted.
func (b *Builder) line(s string) { b.progress("%s", s) }

func (b *Builder) progress(format string, a ...any) {
	if b.Progress != nil {
		b.Progress(fmt.Sprintf(format, a...))
	}
}

// Build returns the kernel for req, from the cache when it was built
// before with the same inputs, else building it. Builds of one source
// share a source tree and an output directory, so a patched kernel built
// after the stock one recompiles only what the patches touch; each
// configuration has its own output directory there.
func (b *Builder) Build(ctx context.Context, req Request) (*Build, error) {
	p, err := b.plan(ctx, req)
	if err != nil {
		return nil, err
	}
	if bld, err := b.lookup(p.key); err == nil {
		return bld, nil
	}
	work := b.workDir(p)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lock(ctx, filepath.Join(work, "lock"), b.progress)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if bld, err := b.lookup(p.key); err == nil {
		return bld, nil // built by whoever held the lock
	}
	start := time.Now()
	src := filepath.Join(work, "src")
	if err := restorePristine(ctx, work, p.src); err != nil {
		return nil, fmt.Errorf("restore the source tree in %s: %w (kernel clean --all starts afresh)", work, err)
	}
	if _, err := os.Stat(src); err != nil {
		if err := p.src.Materialize(ctx, b.CacheDir, src, b.line); err != nil {
			return nil, err
		}
	} else if err := p.src.checkout(ctx, src, b.line); err != nil {
		return nil, err
	}
	if p.series != nil {
		b.progress("applying %d patch(es) from %s", len(p.series.Patches), p.series.Path)
		if err := applySeries(ctx, work, p.src, *p.series); err != nil {
			return nil, err
		}
		defer restorePristine(context.WithoutCancel(ctx), work, p.src)
	}
	out := filepath.Join(work, p.outName())
	logPath := filepath.Join(work, "build-"+p.key+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	var cc *compilerCache
	if !b.NoCompilerCache {
		statsLog := filepath.Join(work, "ccache-"+p.key+".log")
		os.Remove(statsLog)
		defer os.Remove(statsLog)
		cc = findCompilerCache(ctx, b.CacheDir, statsLog)
	}
	if err := b.configure(ctx, p, src, out, cc, logf); err != nil {
		return nil, err
	}
	how := ""
	if cc != nil {
		how = " through ccache (" + cc.dir + ")"
	}
	b.progress("building bzImage with make -j%d%s (log: %s)", b.jobs(), how, logPath)
	if err := b.make(ctx, src, out, logf, cc, "bzImage"); err != nil {
		logf.Sync()
		failed := filepath.Join(b.buildsDir(), "failed-"+p.key+".log")
		os.MkdirAll(b.buildsDir(), 0o755)
		if copyFile(failed, logPath) == nil {
			logPath = failed
		}
		t, _ := os.ReadFile(logPath)
		return nil, &BuildError{Log: logPath, Errors: compileErrors(string(t), 10), Tail: tail(string(t), 25), Err: err}
	}
	if err := checkPayload(out); err != nil {
		return nil, err
	}
	bld := &Build{
		Key: p.key, Source: p.src.ID, SourceSpec: p.src.Spec, Base: p.base,
		Compiler: p.compiler, Built: time.Now().UTC(), Duration: time.Since(start),
		Git: p.src.gitIdentity(ctx),
	}
	if cc != nil {
		bld.CompilerCache = cc.stats()
	}
	for _, f := range p.fragments {
		bld.Fragments = append(bld.Fragments, f.name)
	}
	if p.series != nil {
		bld.Series = p.series.Path
		for _, pt := range p.series.Patches {
			sum := sha256.Sum256(pt.Data)
			bld.Patches = append(bld.Patches, PatchInfo{Name: pt.Name, Subject: pt.Subject, SHA256: hex.EncodeToString(sum[:])})
		}
	}
	logf.Sync()
	if err := b.store(bld, out, src, logPath); err != nil {
		return nil, err
	}
	os.Remove(logPath) // stored with the build
	if cc != nil {
		// which files missed, for whoever asks why a build was slow
		copyFile(filepath.Join(bld.Dir, "ccache.log"), cc.statsLog)
	}
	if c := bld.CompilerCache; c != nil {
		b.progress("built %s in %v; ccache: %d of %d compilations hit (%.0f %%)", bld.BzImage, bld.Duration.Round(time.Second),
			c.Hits, c.Hits+c.Misses, 100*c.HitRate())
	} else {
		b.progress("built %s in %v", bld.BzImage, bld.Duration.Round(time.Second))
	}
	return bld, nil
}

// Tree returns the shared source tree that kernels of req's source are
// built in, and holds the source's lock until release is called: no build
// of that source changes the tree meanwhile. It fails when the tree does
// not exist yet or has a series applied.
func (b *Builder) Tree(ctx context.Context, req Request) (dir string, release func(), err error) {
	p, err := b.plan(ctx, req)
	if err != nil {
		return "", nil, err
	}
	work := b.workDir(p)
	src := filepath.Join(work, "src")
	if _, err := os.Stat(src); err != nil {
		return "", nil, fmt.Errorf("no source tree for %s yet: %w", p.src.Spec, err)
	}
	unlock, err := lock(ctx, filepath.Join(work, "lock"), b.progress)
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(filepath.Join(work, stateFile)); err == nil {
		unlock()
		return "", nil, fmt.Errorf("the source tree %s has a series applied (a build was interrupted; the next build restores it)", src)
	}
	if err := p.src.checkout(ctx, src, b.line); err != nil {
		unlock()
		return "", nil, err
	}
	return src, unlock, nil
}

// WithTree calls fn with req's source tree as the kernel req asks for
// was built from it: the source with req's series applied. It holds the
// source's lock throughout and restores the tree after, so fn must only
// read it (or write outside it). The peer suites' selftests are built
// from it. With reads set, the series is applied only when it touches a
// file reads says fn reads: the tree is the same for fn otherwise, and
// the series' files keep their times.
func (b *Builder) WithTree(ctx context.Context, req Request, reads func(path string) bool, fn func(src string) error) error {
	p, err := b.plan(ctx, req)
	if err != nil {
		return err
	}
	work := b.workDir(p)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	unlock, err := lock(ctx, filepath.Join(work, "lock"), b.progress)
	if err != nil {
		return err
	}
	defer unlock()
	src := filepath.Join(work, "src")
	if err := restorePristine(ctx, work, p.src); err != nil {
		return fmt.Errorf("restore the source tree in %s: %w (kernel clean --all starts afresh)", work, err)
	}
	if _, err := os.Stat(src); err != nil {
		if err := p.src.Materialize(ctx, b.CacheDir, src, b.line); err != nil {
			return err
		}
	} else if err := p.src.checkout(ctx, src, b.line); err != nil {
		return err
	}
	apply := p.series != nil && reads == nil
	if p.series != nil && reads != nil {
		for _, f := range p.series.Files() {
			apply = apply || reads(f)
		}
	}
	if apply {
		if err := applySeries(ctx, work, p.src, *p.series); err != nil {
			return err
		}
		defer restorePristine(context.WithoutCancel(ctx), work, p.src)
	}
	return fn(src)
}
