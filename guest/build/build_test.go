package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/guest/proto"
)

// The source key hashes only guest/; a guest package that imported another
// part of the module would go stale in the cache without anyone noticing.
func TestGuestImportsOnlyGuest(t *testing.T) {
	src, err := FindSource()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", Package)
	cmd.Dir = src
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, ModulePath+"/") {
			continue
		}
		inside := false
		for _, tree := range guestTrees {
			inside = inside || strings.HasPrefix(p, ModulePath+"/"+tree+"/") || p == ModulePath+"/"+tree
		}
		if !inside {
			t.Errorf("the guest binary imports %s, outside %v", p, guestTrees)
		}
	}
}

func TestSourceKey(t *testing.T) {
	src := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module "+ModulePath+"\n")
	write("go.sum", "")
	write("guest/a.go", "package a\n")
	write("guest/a_test.go", "package a\n")
	write("vm/v.go", "package vm\n")
	if !isRoot(src) {
		t.Fatal("isRoot false for a tree with our go.mod")
	}
	ctx := context.Background()
	k1, err := SourceKey(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	write("vm/v.go", "package vm // changed\n")
	write("guest/a_test.go", "package a // changed\n")
	if k, _ := SourceKey(ctx, src); k != k1 {
		t.Error("key changed with files the guest is not built from")
	}
	write("guest/a.go", "package a // changed\n")
	if k, _ := SourceKey(ctx, src); k == k1 {
		t.Error("key unchanged after a guest source file changed")
	}
}

func TestFindSourceFromEnv(t *testing.T) {
	t.Setenv("PATCHTEST_SRC", t.TempDir())
	if _, err := FindSource(); err == nil {
		t.Error("FindSource accepted a PATCHTEST_SRC without the module")
	}
}

// patchtest as its own guest loses its debug sections, once, and keeps
// the Go build ID the host checks the agent by.
func TestStrippedKeepsBuildID(t *testing.T) {
	if _, err := exec.LookPath("objcopy"); err != nil {
		t.Skip("no objcopy")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := stripped(context.Background(), exe, dir)
	if out == exe {
		t.Fatalf("stripped(%s) returned the executable itself", exe)
	}
	before, _ := os.Stat(exe)
	after, err := os.Stat(out)
	if err != nil || after.Size() >= before.Size() {
		t.Errorf("stripped copy %v (%v); want smaller than %d bytes", after, err, before.Size())
	}
	want, err := proto.ReadBuildID(exe)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := proto.ReadBuildID(out); err != nil || got != want {
		t.Errorf("build ID of the stripped copy %q (%v); want %q", got, err, want)
	}
	if again := stripped(context.Background(), exe, dir); again != out {
		t.Errorf("a second call made %s; want the cached %s", again, out)
	}
}
