package selftest

import (
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/vm/setup"
)

// fakeTree writes a tree with the selftests' layout: the splice programs
// build, mm/cow has no source, net/tls does not compile.
func fakeTree(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	files := map[string]string{
		"include/uapi/linux/dummy.h":                                 "/* uapi */\n",
		"tools/testing/selftests/kselftest.h":                        "/* kselftest */\n",
		"tools/testing/selftests/splice/default_file_splice_read.c":  "#include \"../kselftest.h\"\nint main(void) { return 0; }\n",
		"tools/testing/selftests/splice/splice_read.c":               "int main(void) { return 0; }\n",
		"tools/testing/selftests/splice/default_file_splice_read.sh": "#!/bin/sh\nexit 0\n",
		"tools/testing/selftests/splice/short_splice_read.sh":        "#!/bin/sh\nexit 0\n",
		"tools/testing/selftests/net/tls.c":                          "int main(void) { return undeclared; }\n",
	}
	for p, data := range files {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

func TestBuild(t *testing.T) {
	needGCC(t)
	ctx := context.Background()
	src, cache := fakeTree(t), t.TempDir()
	b, err := Build(ctx, Request{Source: src, CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if b.Cached {
		t.Error("a first build says cached")
	}
	f, err := elf.Open(filepath.Join(b.Dir, "splice/splice_read"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("splice_read is dynamically linked")
		}
	}
	f.Close()
	if st, err := os.Stat(filepath.Join(b.Dir, "splice/short_splice_read.sh")); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("script not copied executable: %v", err)
	}
	m := b.Manifest
	if why := m.Failed["mm/cow"]; !strings.Contains(why, "has no tools/testing/selftests/mm/cow.c") {
		t.Errorf("mm/cow: %q", why)
	}
	if why := m.Failed["net/tls"]; !strings.Contains(why, "does not build: ") || !strings.Contains(why, "error:") {
		t.Errorf("net/tls: %q", why)
	}
	if why, ok := m.Failed["splice/splice_read"]; ok {
		t.Errorf("splice_read not built: %s", why)
	}
	if !strings.Contains(m.Headers, "/usr/include") {
		t.Errorf("headers from %q: a tree without a Makefile has no make headers", m.Headers)
	}
	again, err := Build(ctx, Request{Source: src, CacheDir: cache})
	if err != nil || !again.Cached || again.Dir != b.Dir {
		t.Errorf("second build: %+v, %v; want the cached one", again, err)
	}
	os.WriteFile(filepath.Join(src, "tools/testing/selftests/splice/splice_read.c"), []byte("int main(void) { return 1; }\n"), 0o644)
	changed, err := Build(ctx, Request{Source: src, CacheDir: cache})
	if err != nil || changed.Cached || changed.Dir == b.Dir {
		t.Errorf("after a source change: %+v, %v; want a new build", changed, err)
	}
}

// A tree without selftests is not an error: every test is recorded as
// not built, and the guest skips them with that reason.
func TestBuildNoSelftests(t *testing.T) {
	needGCC(t)
	b, err := Build(context.Background(), Request{Source: t.TempDir(), CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b.Manifest.Failed); n != len(Programs)+len(Scripts) {
		t.Errorf("%d not built, want all %d: %v", n, len(Programs)+len(Scripts), b.Manifest.Failed)
	}
}

func TestCheckSource(t *testing.T) {
	if err := CheckSource(t.TempDir()); err == nil || !strings.Contains(err.Error(), "point at the kernel's source tree") {
		t.Errorf("an empty directory: %v", err)
	}
	if err := CheckSource(fakeTree(t)); err != nil {
		t.Error(err)
	}
}

func TestReads(t *testing.T) {
	for path, want := range map[string]bool{
		"tools/testing/selftests/mm/cow.c":         true,
		"tools/testing/selftests/kselftest.h":      true,
		"tools/testing/selftests/bpf/test_progs.c": false,
		"include/uapi/linux/splice.h":              true,
		"fs/splice.c":                              false,
		"mm/gup_test.h":                            true,
		"mm/gup.c":                                 false,
	} {
		if got := Reads(path); got != want {
			t.Errorf("Reads(%s) = %v, want %v", path, got, want)
		}
	}
}

// needGCC installs gcc where the host lacks it (the selftests are built
// with it), or fails with the command that would.
func needGCC(t *testing.T) {
	t.Helper()
	if _, err := setup.Program(t.Context(), setup.Need{Program: "gcc", Package: "build-essential", Why: "to build the selftests"}, false, os.Stderr); err != nil {
		t.Fatal(err)
	}
}
