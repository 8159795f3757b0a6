package pipeline

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

// A run configuration's config: section reaches the builder for both
// built kernels: base: defconfig builds defconfig (it was once dropped,
// building tinyconfig).
func TestFromConfigBaseReachesBuild(t *testing.T) {
	cfg, err := configs.LoadRun("run.yaml", []byte(`
kernels:
  baseline:
    source: debian:6.12
  candidate:
    source: debian:6.12
    patches: series
config:
  base: defconfig
  fragments: [debug]
`))
	if err != nil {
		t.Fatal(err)
	}
	o := FromConfig(cfg, "/conf")
	for role, spec := range map[string]configs.KernelSpec{"baseline": o.Baseline, "candidate": o.Candidate} {
		req := buildRequest(describeSpec(spec))
		if req.Base != "defconfig" || len(req.Fragments) != 1 || req.Fragments[0] != "debug" {
			t.Errorf("%s: request %+v, want defconfig + debug", role, req)
		}
	}
	if want := filepath.Join("/conf", "series"); o.Candidate.Patches != want {
		t.Errorf("patches %q, want %q", o.Candidate.Patches, want)
	}
}

// A kernel given as an image keeps its path and takes no build settings.
func TestFromConfigImage(t *testing.T) {
	cfg, err := configs.LoadRun("run.yaml", []byte("kernels:\n  candidate:\n    path: boot/vmlinuz\nconfig:\n  base: defconfig\ndashboard_url: https://ci.example.org/pt\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := FromConfig(cfg, "/conf")
	if o.Candidate.Path != "/conf/boot/vmlinuz" || o.Candidate.Base != "" || !o.Baseline.Built() || o.Candidate.Built() {
		t.Errorf("candidate %+v", o.Candidate)
	}
	if o.DashboardURL != "https://ci.example.org/pt" {
		t.Errorf("dashboard_url %q", o.DashboardURL)
	}
}

// Flags override the configuration, setting by setting, and what cannot
// be used together is refused naming the flags.
func TestConfigure(t *testing.T) {
	cfg, err := configs.LoadRun("run.yaml", []byte("qemu:\n  accel: tcg\n  memory_mib: 1024\n  jobs: 2\nperf:\n  level: standard\n  fail_pct: 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	o, err := Configure(cfg, "/conf", vm.BootOptions{QEMU: "qemu", CacheDir: "/c"}, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Boot.Accel != vm.TCG || o.Boot.MemoryMiB != 1024 || o.Jobs != 2 || o.Perf.Name != "standard" || o.PerfFailPct != 7 || o.CacheDir != "/c" || o.Boot.QEMU != "qemu" {
		t.Errorf("from the configuration: %+v", o)
	}
	o, err = Configure(cfg, "/conf", vm.BootOptions{}, Flags{Accel: str("auto"), MemoryMiB: num(256), Jobs: num(1), Perf: str("off"), Kernel: str("/k"), Suites: []string{"tee/*"}})
	if err != nil {
		t.Fatal(err)
	}
	if o.Boot.Accel != vm.Auto || o.Boot.MemoryMiB != 256 || o.Jobs != 1 || o.Perf.Name != "" || o.Candidate.Path != "/k" || len(o.Patterns) != 1 {
		t.Errorf("flags over the configuration: %+v", o)
	}
	if o, err := Configure(cfg, "/conf", vm.BootOptions{}, Flags{Clock: str("icount")}); err != nil || o.PerfClock != vm.Instructions {
		t.Errorf("--clock icount: %v, %v", o.PerfClock, err)
	}
	// A tree's common name comes from the configuration to the record's
	// spec, which KCIDB's tree_name reads.
	named, err := configs.LoadRun("run.yaml", []byte("kernels:\n  baseline:\n    source: debian:6.12\n  candidate:\n    source: debian:6.12\n    patches: p\n    tree_name: net-next\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o, err := Configure(named, "/conf", vm.BootOptions{}, Flags{}); err != nil || o.Candidate.TreeName != "net-next" || o.Baseline.TreeName != "" || describeSpec(o.Candidate).TreeName != "net-next" {
		t.Errorf("tree_name: candidate %+v baseline %+v, %v", o.Candidate, o.Baseline, err)
	}
	// --fragment reaches the kernels patchtest builds, after the
	// configuration's own, and leaves given kernels alone.
	if o, err := Configure(named, "/conf", vm.BootOptions{}, Flags{Fragments: []string{"kcov"}, Baseline: str("/b")}); err != nil ||
		!slices.Equal(o.Candidate.Fragments, []string{"kcov"}) || o.Baseline.Fragments != nil {
		t.Errorf("--fragment kcov: candidate %+v baseline %+v, %v", o.Candidate, o.Baseline, err)
	}
	// A perf-only run is quick unless a level is given.
	if o, _ := Configure(&configs.Run{}, "/", vm.BootOptions{}, Flags{PerfOnly: true, Jobs: num(1)}); o.Perf.Name != "quick" || !o.SkipSuites {
		t.Errorf("perf only: %+v", o.Perf)
	}
	for _, tc := range []struct {
		f    Flags
		want string
	}{
		{Flags{Kernel: str("/k"), Patches: str("/p")}, "give one"},
		{Flags{Null: true, Baseline: str("/b")}, "drop --baseline"},
		{Flags{Jobs: num(0)}, "--jobs 0"},
		{Flags{Perf: str("fast")}, `perf level "fast"`},
		{Flags{Rounds: num(-1)}, "must not be negative"},
		{Flags{Accel: str("hvf")}, "--accel"},
		{Flags{Clock: str("wall")}, "--clock"},
		{Flags{Fragments: []string{"nosuch"}}, "--fragment nosuch: not a file"},
		{Flags{Fragments: []string{"kcov"}, Kernel: str("/k"), Baseline: str("/b")}, "only kernels patchtest builds"},
	} {
		if _, err := Configure(cfg, "/conf", vm.BootOptions{}, tc.f); err == nil || !strings.Contains(err.Error(), tc.want) || vm.OutcomeOf(err) != vm.BadInput {
			t.Errorf("%+v: %v, want bad input %q", tc.f, err, tc.want)
		}
	}
}

// A git range becomes the series of its commits on its base, formatted
// into the cache; a range that is not one is refused naming it.
func TestFromRange(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	for i, f := range []string{"a", "b", "c"} {
		os.WriteFile(filepath.Join(dir, f), []byte(f), 0o644)
		git("add", f)
		git("commit", "-qm", fmt.Sprintf("commit %d", i))
	}
	o := Options{Range: "git:" + dir + "@HEAD~2..HEAD", CacheDir: t.TempDir(), Candidate: configs.KernelSpec{Base: "tinyconfig"}}
	if err := fromRange(context.Background(), &o); err != nil {
		t.Fatal(err)
	}
	ps, _ := filepath.Glob(filepath.Join(o.Candidate.Patches, "*.patch"))
	if len(ps) != 2 || !strings.HasPrefix(o.Baseline.Source, "git:"+dir+"@") || o.Candidate.Source != o.Baseline.Source || o.Candidate.Base != "tinyconfig" {
		t.Errorf("range: %d patches, baseline %+v, candidate %+v", len(ps), o.Baseline, o.Candidate)
	}
	for _, bad := range []string{"git:" + dir + "@HEAD", dir + "@HEAD~1..HEAD", "git:" + dir + "@HEAD..HEAD", "git:" + dir + "@nosuch..HEAD"} {
		o := Options{Range: bad, CacheDir: t.TempDir()}
		if err := fromRange(context.Background(), &o); err == nil || !strings.Contains(err.Error(), "--range") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

// A per-patch run stopped part way keeps its columns, marks the rest not
// run with the reason, and still has a candidate to report.
func TestPerPatchFinish(t *testing.T) {
	out := &perPatchRun{}
	out.Columns = []results.PatchColumn{{Index: 1, Total: 3, Status: results.PatchNotRun, Reason: "harness: x"}}
	out.boots = []vm.BootOptions{{}}
	base := &results.KernelResult{Role: runs.Baseline, Run: &runs.Suite{}}
	out.finish(Options{}, base, "harness failure at [PATCH 1/3]", 3)
	if len(out.Columns) != 3 || out.Columns[2].Status != results.PatchNotRun || out.Columns[2].Reason != "harness failure at [PATCH 1/3]" || len(out.boots) != 3 {
		t.Errorf("columns %+v", out.Columns)
	}
	if out.last == nil || len(out.last.Run.Failures) != 1 {
		t.Errorf("candidate %+v", out.last)
	}
}

// The statistics' own defaults are the built-in configuration's: a record
// compared without a configuration (results diff) uses the rules a run
// would have.
func TestPerfDefaultsAreTheConfigs(t *testing.T) {
	d := configs.MustDefaults().Perf
	if d.Alpha != results.DefaultAlpha || d.ThresholdPct != results.DefaultThreshold {
		t.Errorf("configs/default.yaml has alpha %v, threshold %v%%; results defaults to %v, %v%%", d.Alpha, d.ThresholdPct, results.DefaultAlpha, results.DefaultThreshold)
	}
}
