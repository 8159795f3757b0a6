package pipeline

import (
	"path/filepath"
	"testing"

	"github.com/patchtest/patchtest/configs"
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
		req := buildRequest(spec)
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
	cfg, err := configs.LoadRun("run.yaml", []byte("kernels:\n  candidate:\n    path: boot/vmlinuz\nconfig:\n  base: defconfig\n"))
	if err != nil {
		t.Fatal(err)
	}
	o := FromConfig(cfg, "/conf")
	if o.Candidate.Path != "/conf/boot/vmlinuz" || o.Candidate.Base != "" || !o.Baseline.Built() || o.Candidate.Built() {
		t.Errorf("candidate %+v", o.Candidate)
	}
}
