package configs

import (
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
	} {
		_, err := LoadRun("my.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v; want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestKernelFragments(t *testing.T) {
	names := KernelFragments()
	if len(names) < 2 || names[0] != "debug" || names[1] != "guest" {
		t.Errorf("fragments %q", names)
	}
	if _, err := KernelFragment("nope"); err == nil || !strings.Contains(err.Error(), "guest") {
		t.Errorf("unknown fragment: %v", err)
	}
}
