package kernels

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/patchtest/patchtest/kernels/artifact"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/configs"
)

// Bases are the configurations fragments are merged onto.
var Bases = []string{"tinyconfig", "defconfig"}

// DefaultFragment is merged into every kernel: what the guest needs.
const DefaultFragment = "guest"

// buildFormat changes whenever the build recipe changes, so that no cached
// kernel built by an older recipe is reused.
const buildFormat = "patchtest-kernel-build-1"

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
}

// PatchInfo records one applied patch.
type PatchInfo = artifact.Patch

// Build is a built kernel in the cache.
type Build = artifact.Build

// Builder builds kernels into a cache directory.
type Builder struct {
	CacheDir string
	// Jobs is make's -j; the number of CPUs when zero.
	Jobs int
	// Progress receives a line for each long step; nil discards them.
	Progress func(string)
}

// ConfigError lists the requested options that olddefconfig did not keep.
type ConfigError struct {
	Missing []ConfigMismatch
	Config  string // the resulting .config
}

// ConfigMismatch is one requested option and what the config has instead.
type ConfigMismatch struct {
	Option, Want, Got, Fragment string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requested config option(s) could not be set (their dependencies are missing or they do not exist in this kernel):", len(e.Missing))
	for _, m := range e.Missing {
		got := m.Got
		if got == "" {
			got = "not set"
		}
		fmt.Fprintf(&b, "\n  %s=%s (from %s): %s", m.Option, m.Want, m.Fragment, got)
	}
	fmt.Fprintf(&b, "\nresulting config: %s", e.Config)
	return b.String()
}

// PatchError says which patch did not apply, and where.
type PatchError struct {
	Patch   string
	Subject string
	Detail  string
}

func (e *PatchError) Error() string {
	return fmt.Sprintf("patch %s (%q) does not apply:\n%s", e.Patch, e.Subject, e.Detail)
}

// InputError is a source, series or fragment that cannot be used.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }

func (e *InputError) Unwrap() error { return e.Err }

// BuildError is a failed make, with the log's last lines.
type BuildError struct {
	Log string
	// Errors are the compiler's error lines, which a parallel make may
	// have pushed far above the log's end.
	Errors string
	Tail   string
	Err    error
}

func (e *BuildError) Error() string {
	msg := fmt.Sprintf("kernel build failed: %v\n", e.Err)
	if e.Errors != "" {
		msg += "errors:\n" + e.Errors + "\n"
	}
	return msg + fmt.Sprintf("last lines of %s:\n%s", e.Log, e.Tail)
}

// compileErrors returns the log's error lines ("file:line:col: error:"
// and "#error"), at most max of them, each with the line before it.
func compileErrors(log string, max int) string {
	lines := strings.Split(log, "\n")
	var out []string
	for i, l := range lines {
		if !strings.Contains(l, ": error:") && !strings.Contains(l, ": fatal error:") {
			continue
		}
		if i > 0 && strings.Contains(lines[i-1], "In file included from") || i > 0 && strings.Contains(lines[i-1], ": In function") {
			out = append(out, lines[i-1])
		}
		out = append(out, l)
		if len(out) >= max {
			break
		}
	}
	return strings.Join(out, "\n")
}

func (e *BuildError) Unwrap() error { return e.Err }

func (b *Builder) progress(format string, a ...any) {
	if b.Progress != nil {
		b.Progress(fmt.Sprintf(format, a...))
	}
}

type fragment struct {
	name string
	data []byte
}

func loadFragments(names []string) ([]fragment, error) {
	all := append([]string{DefaultFragment}, names...)
	var out []fragment
	seen := map[string]bool{}
	for _, n := range all {
		if seen[n] {
			continue
		}
		seen[n] = true
		if st, err := os.Stat(n); err == nil && !st.IsDir() {
			b, err := os.ReadFile(n)
			if err != nil {
				return nil, err
			}
			out = append(out, fragment{name: n, data: b})
			continue
		}
		b, err := configs.KernelFragment(n)
		if err != nil {
			return nil, fmt.Errorf("config fragment %q: not a file, and %w", n, err)
		}
		out = append(out, fragment{name: n, data: b})
	}
	return out, nil
}

// Compiler returns the first line of gcc --version.
func Compiler(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "gcc", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("gcc --version: %w (install build-essential)", err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first), nil
}

// plan is a resolved request.
type plan struct {
	src       Source
	series    *Series
	base      string
	fragments []fragment
	compiler  string
	key       string
}

func (b *Builder) plan(ctx context.Context, req Request) (*plan, error) {
	p := &plan{base: req.Base}
	if p.base == "" {
		p.base = "tinyconfig"
	}
	if !contains(Bases, p.base) {
		return nil, &InputError{fmt.Errorf("config base %q: want one of %s", p.base, strings.Join(Bases, ", "))}
	}
	spec := req.Source
	if spec == "" {
		spec = DefaultSource
	}
	src, err := ParseSource(spec)
	if err != nil {
		return nil, &InputError{err}
	}
	if err := src.Identify(ctx, b.CacheDir); err != nil {
		return nil, &InputError{err}
	}
	p.src = src
	if req.Patches != "" {
		s, err := LoadSeries(req.Patches)
		if err != nil {
			return nil, &InputError{err}
		}
		p.series = &s
	}
	if p.fragments, err = loadFragments(req.Fragments); err != nil {
		return nil, &InputError{err}
	}
	if p.compiler, err = Compiler(ctx); err != nil {
		return nil, err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\narch x86_64\nsource %s\nbase %s\ncompiler %s\n", buildFormat, src.ID, p.base, p.compiler)
	for _, f := range p.fragments {
		fmt.Fprintf(h, "fragment %d\n", len(f.data))
		h.Write(f.data)
	}
	if p.series != nil {
		fmt.Fprintf(h, "series %s\n", p.series.Hash())
	}
	p.key = hex.EncodeToString(h.Sum(nil))[:24]
	return p, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (b *Builder) buildsDir() string { return filepath.Join(b.CacheDir, "kernels", "builds") }
func (b *Builder) workDir(p *plan) string {
	sum := sha256.Sum256([]byte(p.src.ID))
	return filepath.Join(b.CacheDir, "kernels", "work", hex.EncodeToString(sum[:])[:16])
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
		if err := p.src.Materialize(ctx, b.CacheDir, src, b.Progress); err != nil {
			return nil, err
		}
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
	if err := b.configure(ctx, p, src, out, logf); err != nil {
		return nil, err
	}
	b.progress("building bzImage with make -j%d (log: %s)", b.jobs(), logPath)
	if err := b.make(ctx, src, out, logf, "bzImage"); err != nil {
		logf.Sync()
		failed := filepath.Join(b.buildsDir(), "failed-"+p.key+".log")
		os.MkdirAll(b.buildsDir(), 0o755)
		if copyFile(failed, logPath) == nil {
			logPath = failed
		}
		t, _ := os.ReadFile(logPath)
		return nil, &BuildError{Log: logPath, Errors: compileErrors(string(t), 10), Tail: tail(string(t), 25), Err: err}
	}
	bld := &Build{
		Key: p.key, Source: p.src.ID, SourceSpec: p.src.Spec, Base: p.base,
		Compiler: p.compiler, Built: time.Now().UTC(), Duration: time.Since(start),
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
	if err := b.store(bld, out, logPath); err != nil {
		return nil, err
	}
	os.Remove(logPath) // stored with the build
	b.progress("built %s in %v", bld.BzImage, bld.Duration.Round(time.Second))
	return bld, nil
}

func (b *Builder) jobs() int {
	if b.Jobs > 0 {
		return b.Jobs
	}
	return runtime.NumCPU()
}

// makeEnv pins what would otherwise make two builds of the same inputs
// differ.
func makeEnv() []string {
	return append(os.Environ(),
		"ARCH=x86_64",
		"KBUILD_BUILD_USER=patchtest",
		"KBUILD_BUILD_HOST=patchtest",
		"KBUILD_BUILD_TIMESTAMP=1970-01-01",
		"LC_ALL=C",
	)
}

func (b *Builder) make(ctx context.Context, src, out string, log io.Writer, targets ...string) error {
	args := append([]string{"-C", src, "O=" + out, "ARCH=x86_64", fmt.Sprintf("-j%d", b.jobs())}, targets...)
	cmd := exec.CommandContext(ctx, "make", args...)
	cmd.Env = makeEnv()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.follow(pr, log)
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	return err
}

// follow copies make's output to log and reports progress every few
// seconds: how many files were compiled so far.
func (b *Builder) follow(r io.Reader, log io.Writer) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	last := time.Now()
	for s.Scan() {
		line := s.Text()
		fmt.Fprintln(log, line)
		if strings.HasPrefix(line, "  CC ") || strings.HasPrefix(line, "  AS ") {
			n++
		}
		if time.Since(last) > 10*time.Second {
			b.progress("… %d files compiled", n)
			last = time.Now()
		}
	}
	io.Copy(io.Discard, r)
}

// configStamp records, beside out/.config, which config inputs made it
// and the hash of the result, so that a build with the same inputs skips
// the configuration steps (some 15 s of make on two cores).
const configStamp = ".patchtest-config"

// configKey hashes what determines the merged config: the source, the
// base, the fragments, and the series only where it touches a Kconfig
// file (a patched kernel then reuses the stock kernel's config).
func (p *plan) configKey() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s\n", buildFormat, p.src.ID, p.base)
	for _, f := range p.fragments {
		fmt.Fprintf(h, "%s %d\n", f.name, len(f.data))
		h.Write(f.data)
	}
	if p.series != nil {
		for _, f := range p.series.Files() {
			if strings.HasPrefix(filepath.Base(f), "Kconfig") {
				fmt.Fprintf(h, "series %s\n", p.series.Hash())
				break
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// outName names the output directory of p's configuration: one per base
// and fragments, so that kernels of one source built with different
// configurations (a debug build, one without CONFIG_BUG) do not recompile
// each other's objects; a series shares its configuration's directory.
func (p *plan) outName() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", p.base)
	for _, f := range p.fragments {
		fmt.Fprintf(h, "%s %d\n", f.name, len(f.data))
		h.Write(f.data)
	}
	return "out-" + hex.EncodeToString(h.Sum(nil))[:12]
}

func configured(out, key string) bool {
	stamp, err := os.ReadFile(filepath.Join(out, configStamp))
	if err != nil {
		return false
	}
	cfg, err := hashFile(filepath.Join(out, ".config"))
	return err == nil && string(stamp) == key+" "+cfg
}

// configure writes out/.config: the base, the fragments merged with the
// kernel's merge_config.sh, olddefconfig, and a check that every requested
// option stuck.
func (b *Builder) configure(ctx context.Context, p *plan, src, out string, log io.Writer) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	key := p.configKey()
	if configured(out, key) {
		b.progress("config unchanged: %s + %s", p.base, strings.Join(fragmentNames(p.fragments), " + "))
		return nil
	}
	os.Remove(filepath.Join(out, configStamp))
	b.progress("configuring: %s + %s", p.base, strings.Join(fragmentNames(p.fragments), " + "))
	if err := b.make(ctx, src, out, log, p.base); err != nil {
		return fmt.Errorf("make %s: %w", p.base, err)
	}
	fragDir := filepath.Join(filepath.Dir(out), "fragments")
	os.RemoveAll(fragDir)
	if err := os.MkdirAll(fragDir, 0o755); err != nil {
		return err
	}
	args := []string{"-m", "-O", out, filepath.Join(out, ".config")}
	for i, f := range p.fragments {
		path := filepath.Join(fragDir, fmt.Sprintf("%02d-%s.config", i, sanitize(f.name)))
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return err
		}
		args = append(args, path)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(src, "scripts/kconfig/merge_config.sh"), args...)
	cmd.Dir = src
	cmd.Env = makeEnv()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("merge_config.sh: %w", err)
	}
	if err := b.make(ctx, src, out, log, "olddefconfig"); err != nil {
		return fmt.Errorf("make olddefconfig: %w", err)
	}
	if err := verifyConfig(filepath.Join(out, ".config"), p.fragments); err != nil {
		return err
	}
	cfg, err := hashFile(filepath.Join(out, ".config"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, configStamp), []byte(key+" "+cfg), 0o644)
}

func fragmentNames(fs []fragment) []string {
	var n []string
	for _, f := range fs {
		n = append(n, f.name)
	}
	return n
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func sanitize(s string) string { return unsafeChars.ReplaceAllString(filepath.Base(s), "_") }

var (
	setRe   = regexp.MustCompile(`^(CONFIG_[A-Za-z0-9_]+)=(.*)$`)
	unsetRe = regexp.MustCompile(`^# (CONFIG_[A-Za-z0-9_]+) is not set$`)
)

// parseConfig reads a .config or fragment into option → value ("n" for
// "is not set").
func parseConfig(data []byte) (map[string]string, []string) {
	vals := map[string]string{}
	var order []string
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if m := setRe.FindStringSubmatch(l); m != nil {
			vals[m[1]] = m[2]
			order = append(order, m[1])
		} else if m := unsetRe.FindStringSubmatch(l); m != nil {
			vals[m[1]] = "n"
			order = append(order, m[1])
		}
	}
	return vals, order
}

// verifyConfig checks that every option the fragments ask for has the
// requested value in the final config.
func verifyConfig(path string, frags []fragment) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	have, _ := parseConfig(data)
	var missing []ConfigMismatch
	want := map[string]ConfigMismatch{}
	var order []string
	for _, f := range frags {
		vals, ord := parseConfig(f.data)
		for _, o := range ord {
			if _, ok := want[o]; !ok {
				order = append(order, o)
			}
			want[o] = ConfigMismatch{Option: o, Want: vals[o], Fragment: f.name} // later fragments win
		}
	}
	for _, o := range order {
		w := want[o]
		got, ok := have[o]
		if !ok {
			got = "n"
		}
		if got != w.Want {
			if got != "n" {
				w.Got = got
			}
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return &ConfigError{Missing: missing, Config: path}
	}
	return nil
}

// store copies the artifacts into the cache atomically: a temporary
// directory renamed into place, its record written last.
func (b *Builder) store(bld *Build, out, log string) error {
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
