package kernels

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/vm/setup"
)

const patchA = `From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Dev <dev@example.org>
Date: Mon, 4 May 2026 10:00:00 +0000
Subject: [PATCH 1/2] fs: change the greeting
 so that it is longer

Body.
---
 fs/hello.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/fs/hello.c b/fs/hello.c
--- a/fs/hello.c
+++ b/fs/hello.c
@@ -1,3 +1,3 @@
 int a;
-int hello = 1;
+int hello = 2;
 int b;
-- 
2.47.0

`

const patchB = `From 2222222222222222222222222222222222222222 Mon Sep 17 00:00:00 2001
From: Dev <dev@example.org>
Date: Mon, 4 May 2026 10:00:01 +0000
Subject: [PATCH 2/2] fs: add a file

---
 fs/new.c | 1 +
 1 file changed, 1 insertion(+)

diff --git a/fs/new.c b/fs/new.c
new file mode 100644
--- /dev/null
+++ b/fs/new.c
@@ -0,0 +1 @@
+int fresh;
-- 
2.47.0

`

const cover = `From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001
From: Dev <dev@example.org>
Date: Mon, 4 May 2026 09:59:00 +0000
Subject: [PATCH 0/2] a series

Cover.
`

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadSeries(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"series/0000-cover-letter.patch": cover,
		"series/0001-a.patch":            patchA,
		"series/0002-b.patch":            patchB,
		"series/README":                  "not a patch",
		"mbox":                           cover + patchA + patchB,
		"nodiff/0001-x.patch":            "Subject: [PATCH] words only\n\nno diff here\n",
		"mangled/0001-x.patch":           strings.Replace(patchA, " int b;\n", "", 1),
		"onlycover/0000.patch":           cover,
	})
	for _, path := range []string{filepath.Join(dir, "series"), filepath.Join(dir, "mbox")} {
		s, err := LoadSeries(path)
		if err != nil {
			t.Fatalf("LoadSeries(%s): %v", path, err)
		}
		var subjects []string
		for _, p := range s.Patches {
			subjects = append(subjects, p.Subject)
		}
		want := []string{"[PATCH 1/2] fs: change the greeting so that it is longer", "[PATCH 2/2] fs: add a file"}
		if !slices.Equal(subjects, want) {
			t.Errorf("%s: subjects %q; want %q", path, subjects, want)
		}
		if got := s.Files(); !slices.Equal(got, []string{"fs/hello.c", "fs/new.c"}) {
			t.Errorf("%s: files %q", path, got)
		}
	}
	a, _ := LoadSeries(filepath.Join(dir, "series"))
	b, _ := LoadSeries(filepath.Join(dir, "mbox"))
	if a.Hash() != b.Hash() {
		t.Error("the same patches from a directory and an mbox hash differently")
	}
	for _, tc := range []struct{ path, want string }{
		{"nodiff", "holds no diff"},
		{"mangled", "malformed"},
		{"onlycover", "only a cover letter"},
		{"missing", "no such file"},
	} {
		_, err := LoadSeries(filepath.Join(dir, tc.path))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadSeries(%s) = %v; want %q", tc.path, err, tc.want)
		}
	}
}

func TestReferenceSeriesParses(t *testing.T) {
	s, err := LoadSeries("patches/vmsplice-wrapper")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Patches) != 3 {
		t.Fatalf("%d patches; want 3", len(s.Patches))
	}
	if !slices.Contains(s.Files(), "fs/splice.c") {
		t.Errorf("series does not touch fs/splice.c: %q", s.Files())
	}
}

func TestVerifyConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".config")
	writeFiles(t, dir, map[string]string{".config": "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\nCONFIG_D=m\n"})
	ok := []fragment{{"guest", []byte("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\n# comment\n")}}
	if err := verifyConfig(cfg, ok); err != nil {
		t.Errorf("verifyConfig: %v", err)
	}
	bad := []fragment{
		{"guest", []byte("CONFIG_A=y\nCONFIG_B=y\nCONFIG_E=y\n")},
		{"debug", []byte("CONFIG_D=y\nCONFIG_A=y\n")},
	}
	err := verifyConfig(cfg, bad)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("verifyConfig = %v; want a ConfigError", err)
	}
	var got []string
	for _, m := range ce.Missing {
		got = append(got, m.Option+"="+m.Want+"@"+m.Fragment+":"+m.Got)
	}
	want := []string{"CONFIG_B=y@guest:", "CONFIG_E=y@guest:", "CONFIG_D=y@debug:m"}
	if !slices.Equal(got, want) {
		t.Errorf("mismatches %q; want %q", got, want)
	}
	if !strings.Contains(err.Error(), "CONFIG_E=y (from guest): not set") {
		t.Errorf("message does not name the option: %v", err)
	}
}

func TestLoadFragments(t *testing.T) {
	f, err := loadFragments([]string{"debug", "guest"})
	if err != nil {
		t.Fatal(err)
	}
	if names := fragmentNames(f); !slices.Equal(names, []string{"guest", "debug"}) {
		t.Errorf("fragments %q; want guest first, once", names)
	}
	if _, err := loadFragments([]string{"nosuch"}); err == nil || !strings.Contains(err.Error(), "debug") {
		t.Errorf("unknown fragment: %v; want an error listing the built-in ones", err)
	}
}

func TestParseSource(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"tree/Makefile": "", "notree/x": "", "k.tar.xz": ""})
	for _, tc := range []struct {
		spec string
		kind SourceKind
		err  string
	}{
		{"debian:6.12", SourceDebian, ""},
		{"debian:latest", "", "want debian:MAJOR.MINOR"},
		{"git:" + dir + "@v6.12", "", "not a git repository"},
		{filepath.Join(dir, "tree"), SourceDir, ""},
		{filepath.Join(dir, "notree"), "", "no Makefile"},
		{filepath.Join(dir, "k.tar.xz"), SourceTarball, ""},
		{filepath.Join(dir, "missing"), "", "no such file"},
	} {
		s, err := ParseSource(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSource(%q) = %v; want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || s.Kind != tc.kind {
			t.Errorf("ParseSource(%q) = %v, %v; want %s", tc.spec, s.Kind, err, tc.kind)
		}
	}
}

func TestSortVersions(t *testing.T) {
	names := []string{"linux-image-6.1.0-9-cloud", "linux-image-6.1.0-57-cloud", "linux-image-6.1.0-10-cloud"}
	sortVersions(names)
	if names[2] != "linux-image-6.1.0-57-cloud" {
		t.Errorf("newest sorted as %q", names[2])
	}
}

// The apply tests use a tiny tree: what matters is that a series applies,
// that a failing one names its patch and file and leaves the tree as it
// was, and that a build's series is taken out again.
func TestApplyAndRestore(t *testing.T) {
	for _, git := range []bool{false, true} {
		name := "patch"
		if git {
			name = "git am"
		}
		t.Run(name, func(t *testing.T) {
			work := t.TempDir()
			tree := filepath.Join(work, "src")
			writeFiles(t, tree, map[string]string{"Makefile": "", "fs/hello.c": "int a;\nint hello = 1;\nint b;\n"})
			src := Source{Kind: SourceDir}
			if git {
				src.Kind = SourceGit
				for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"}} {
					cmd := exec.Command("git", args...)
					cmd.Dir = tree
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("git %v: %v %s", args, err, out)
					}
				}
				out, _ := exec.Command("git", "-C", tree, "rev-parse", "HEAD").Output()
				src.ID = "git:" + strings.TrimSpace(string(out))
			}
			series := func(patches ...string) Series {
				s := Series{Path: "test"}
				for i, p := range patches {
					s.Patches = append(s.Patches, Patch{Name: string(rune('a' + i)), Subject: subject([]byte(p)), Data: []byte(p), Files: touchedFiles([]byte(p))})
				}
				return s
			}
			ctx := context.Background()
			if err := applySeries(ctx, work, src, series(patchA, patchB)); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(tree, "fs/hello.c")); !strings.Contains(string(b), "hello = 2") {
				t.Errorf("patch 1 not applied: %s", b)
			}
			if _, err := os.Stat(filepath.Join(tree, "fs/new.c")); err != nil {
				t.Errorf("patch 2 not applied: %v", err)
			}
			if err := restorePristine(ctx, work, src); err != nil {
				t.Fatal(err)
			}
			assertPristine(t, tree)

			// Patch 2 applies, patch 1 then fails: it was already applied.
			err := applySeries(ctx, work, src, series(patchB, patchA, patchA))
			var pe *PatchError
			if !errors.As(err, &pe) || pe.Patch != "c" || !strings.Contains(pe.Error(), "fs/hello.c") {
				t.Fatalf("err = %v; want a PatchError naming patch c and fs/hello.c", err)
			}
			t.Logf("error shown to the user: %v", err)
			assertPristine(t, tree)
			if _, err := os.Stat(filepath.Join(work, stateFile)); err == nil {
				t.Error("state file left after a failed series")
			}
		})
	}
}

func assertPristine(t *testing.T, tree string) {
	t.Helper()
	if b, _ := os.ReadFile(filepath.Join(tree, "fs/hello.c")); string(b) != "int a;\nint hello = 1;\nint b;\n" {
		t.Errorf("fs/hello.c not restored: %q", b)
	}
	if _, err := os.Stat(filepath.Join(tree, "fs/new.c")); err == nil {
		t.Error("fs/new.c, created by the series, is still there")
	}
}

// A cache that moved (copied, restored by CI) still finds its builds:
// artifact paths are taken relative to where the build is now.
func TestLookupAfterCacheMoved(t *testing.T) {
	old, now := t.TempDir(), t.TempDir()
	key := "0123456789abcdef01234567"
	b := &Builder{CacheDir: now}
	dir := filepath.Join(b.buildsDir(), key)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "bzImage"), []byte("kernel"), 0o644)
	rec := `{"key":"` + key + `","dir":"` + old + `/kernels/builds/` + key + `","bzimage":"` + old + `/kernels/builds/` + key + `/bzImage","config":"` + old + `/kernels/builds/` + key + `/config"}`
	os.WriteFile(filepath.Join(dir, "build.json"), []byte(rec), 0o644)
	bld, err := b.lookup(key)
	if err != nil {
		t.Fatal(err)
	}
	if bld.BzImage != filepath.Join(dir, "bzImage") || bld.Config != filepath.Join(dir, "config") || bld.Dir != dir {
		t.Errorf("paths not rebased: %+v", bld)
	}
}

func TestCompileErrors(t *testing.T) {
	log := strings.Join([]string{
		"  CC      fs/splice.o",
		"/src/fs/splice.c: In function 'do_tee':",
		"/src/fs/splice.c:1:2: error: #error \"patchtest: a patch that does not compile\"",
		"  CC      mm/slub.o",
		"  AR      mm/built-in.a",
		"make[2]: *** [Makefile:2008: .] Error 2",
	}, "\n")
	got := compileErrors(log, 10)
	want := "/src/fs/splice.c: In function 'do_tee':\n/src/fs/splice.c:1:2: error: #error \"patchtest: a patch that does not compile\""
	if got != want {
		t.Errorf("compileErrors = %q, want %q", got, want)
	}
	if compileErrors("  CC x.o\nall fine\n", 10) != "" {
		t.Error("errors found in a clean log")
	}
}

// WithTree shows fn the tree with the series applied, or without it when
// the series touches nothing fn reads, and leaves it pristine.
func TestWithTree(t *testing.T) {
	if _, err := setup.Program(t.Context(), setup.Need{Program: "patch", Package: "patch", Why: "to apply a series"}, false, os.Stderr); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Makefile": "VERSION = 6\nPATCHLEVEL = 12\n", "fs/hello.c": "int a;\nint hello = 1;\nint b;\n"})
	series := filepath.Join(t.TempDir(), "series")
	writeFiles(t, series, map[string]string{"0001-a.patch": patchA})
	b := &Builder{CacheDir: t.TempDir()}
	ctx := context.Background()
	req := Request{Source: dir, Patches: series}
	see := func(reads func(string) bool) string {
		var got string
		err := b.WithTree(ctx, req, reads, func(src string) error {
			data, err := os.ReadFile(filepath.Join(src, "fs/hello.c"))
			got = string(data)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := see(nil); !strings.Contains(got, "hello = 2") {
		t.Errorf("with the series: %q", got)
	}
	if got := see(func(p string) bool { return p == "fs/hello.c" }); !strings.Contains(got, "hello = 2") {
		t.Errorf("with a series that touches what fn reads: %q", got)
	}
	if got := see(func(string) bool { return false }); strings.Contains(got, "hello = 2") {
		t.Errorf("a series that touches nothing fn reads was applied: %q", got)
	}
	var src string
	b.WithTree(ctx, Request{Source: dir}, nil, func(s string) error { src = s; return nil })
	assertPristine(t, src)
}
