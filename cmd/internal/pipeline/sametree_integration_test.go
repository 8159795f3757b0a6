package pipeline

import (
	"context"
	"crypto/sha256"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/results/schema"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// A user's own tree: a git repository of the Debian source whose branch
// work (tracking main, the base) carries the vmsplice-wrapper series, built
// in the tree with the project's configuration. patchtest run --kernel
// TREE/arch/x86/boot/bzImage must build the base itself (the merge base,
// with the tree's .config), report exactly the series' changes with the
// configurations matching, and leave the tree as it was.
func TestIntegrationSameTreeBaseline(t *testing.T) {
	vmtest.Integration(t)
	cache, agent := vmtest.CacheDir(), vmtest.Guest(t)
	series, err := filepath.Abs(filepath.Join("..", "..", "..", "kernels", "patches", "vmsplice-wrapper"))
	if err != nil {
		t.Fatal(err)
	}
	stock := vmtest.Built(t, kernels.Request{})
	tree, git := vmtest.KernelRepo(t)
	base := git("rev-parse", "HEAD")
	git("checkout", "-q", "-b", "work", "--track", "main")
	patches, _ := filepath.Glob(filepath.Join(series, "000[1-9]-*.patch"))
	git(append([]string{"am", "-q"}, patches...)...)
	// The user's in-tree build, made here by the builder (and cached):
	// the kernel and its .config where make would leave them, both
	// ignored by the kernel's .gitignore.
	cand := vmtest.Built(t, kernels.Request{Source: "git:" + tree, Config: stock.Config})
	for src, dst := range map[string]string{cand.BzImage: "arch/x86/boot/bzImage", cand.Config: ".config"} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, dst), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// What the run must not touch: the tracked files, the ignored ones
	// (a build's products), and the user's kernel and .config byte for
	// byte (git status is blind to both: they are ignored).
	status := git("status", "--porcelain", "--ignored")
	head := git("rev-parse", "HEAD")
	sums := func() map[string][32]byte {
		out := map[string][32]byte{}
		for _, f := range []string{"arch/x86/boot/bzImage", ".config"} {
			b, err := os.ReadFile(filepath.Join(tree, f))
			if err != nil {
				t.Fatal(err)
			}
			out[f] = sha256.Sum256(b)
		}
		return out
	}
	before := sums()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	kernel, expect := filepath.Join(tree, "arch", "x86", "boot", "bzImage"), filepath.Join(series, "expect.yaml")
	o, err := Configure(configs.MustDefaults(), ".", vm.BootOptions{GuestBinary: agent, CacheDir: cache}, Flags{Kernel: &kernel, Expect: &expect})
	if err != nil {
		t.Fatal(err)
	}
	o.CacheDir, o.OutDir, o.Events = cache, t.TempDir(), func(e results.Event) { t.Log(e) }
	rec, err := Execute(ctx, o)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("report:\n%s", rec.Markdown())
	tb := rec.TreeBase
	if tb == nil || tb.Base != base || tb.Head != head || tb.Dirty {
		t.Fatalf("tree base %+v, want base %s, head %s, clean", tb, base, head)
	}
	if !tb.ConfigsMatch {
		t.Errorf("configs do not match: %v", tb.ConfigDiff)
	}
	if b := rec.Baseline.Build; b == nil || b.Source != "git:"+base {
		t.Errorf("baseline build %+v, want the tree at %s", b, base)
	}
	if rec.Mismatch != nil {
		t.Errorf("the kernels differ beyond the patch: %v", rec.Mismatch.Lines())
	}
	v := rec.Verdict
	if v == nil || len(v.Unexpected) > 0 || len(v.Unmet) > 0 || len(v.Expected) != len(rec.Changes) || len(rec.Changes) == 0 {
		t.Errorf("changes %d, verdict %+v: want exactly the series' expected changes", len(rec.Changes), v)
	}
	if after := git("status", "--porcelain", "--ignored"); after != status || git("rev-parse", "HEAD") != head {
		t.Errorf("the tree changed: status %q -> %q", status, after)
	}
	if after := sums(); !maps.Equal(after, before) {
		t.Errorf("the user's bzImage or .config was rewritten")
	}
	if err := schema.Record(rec); err != nil {
		t.Errorf("run.json does not validate: %v", err)
	}
}
