package configs

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaultRun(t *testing.T) {
	r, err := LoadRun("default.yaml", DefaultRun)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kernels.Candidate.Patches != "kernels/patches/vmsplice-wrapper" || r.Kernels.Baseline.Source != "debian:6.12" {
		t.Errorf("kernels %+v", r.Kernels)
	}
	if r.QEMU.Timeout != 30*time.Second || r.QEMU.Accel != "auto" || r.Out == "" {
		t.Errorf("qemu %+v out %q", r.QEMU, r.Out)
	}
}

func TestLoadRunErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"kernels:\n  candidate:\n    patchs: x\n", "my.yaml: line 3: field patchs not found"},
		{"qemu:\n  cpus: two\n", "my.yaml: line 2: cannot unmarshal"},
		{"qemu:\n  timeout: soon\n", "my.yaml: line 2"},
		{"qemu:\n  accel: hvf\n", "qemu.accel"},
		{"config:\n  base: allyesconfig\n", "config.base"},
		{"kernels:\n  baseline:\n    path: /k\n    source: debian:6.12\n", "not both"},
		{"dashboard_url: ci.example.org/patchtest\n", "dashboard_url"},
		{"dashboard_url: ftp://ci.example.org/\n", "dashboard_url"},
		{"dashboard_url: https://ci.example.org/p?x=1\n", "dashboard_url"},
	} {
		_, err := LoadRun("my.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v; want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestLoadRunDashboardURL(t *testing.T) {
	r, err := LoadRun("my.yaml", []byte("dashboard_url: https://ci.example.org/patchtest/\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.DashboardURL != "https://ci.example.org/patchtest/" {
		t.Errorf("dashboard_url %q", r.DashboardURL)
	}
}

func TestKernelFragments(t *testing.T) {
	names := KernelFragments()
	if want := []string{"coverage", "debug", "guest", "kcov"}; !slices.Equal(names, want) {
		t.Errorf("fragments %q, want %q", names, want)
	}
	if _, err := KernelFragment("nope"); err == nil || !strings.Contains(err.Error(), "guest") {
		t.Errorf("unknown fragment: %v", err)
	}
}

// What a file leaves out comes from default.yaml, but the kernels and
// expectations are the file's alone.
func TestLoadRunDefaults(t *testing.T) {
	r, err := LoadRun("my.yaml", []byte("qemu:\n  cpus: 2\nperf:\n  level: quick\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.QEMU.CPUs != 2 || r.QEMU.Timeout != 30*time.Second || r.QEMU.Accel != "auto" || r.QEMU.Jobs != 1 {
		t.Errorf("qemu %+v", r.QEMU)
	}
	if r.Perf.Level != "quick" || r.Perf.FailPct != 5 || r.Perf.Alpha != 0.05 || r.Config.Base != "tinyconfig" || r.Out != "patchtest-results" {
		t.Errorf("perf %+v config %+v out %q", r.Perf, r.Config, r.Out)
	}
	if r.Kernels.Candidate.Source != "" || r.Kernels.Candidate.Patches != "" || r.Kernels.Baseline.Source != "" || r.Expect != "" {
		t.Errorf("kernels %+v expect %q taken from the defaults", r.Kernels, r.Expect)
	}
	// Defaults are a copy: changing one does not change the next.
	d := MustDefaults()
	d.Perf.FailPct = 99
	if MustDefaults().Perf.FailPct != 5 {
		t.Error("Defaults shares its value")
	}
}
