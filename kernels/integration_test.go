package kernels_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/setup"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// These tests build Debian's 6.12 source, stock and with the reference
// series, into the shared cache (a cold build takes minutes, a cached one
// under a second), and boot both. -short skips them.

func builder(t testing.TB) *kernels.Builder {
	vmtest.Integration(t)
	return &kernels.Builder{CacheDir: vmtest.CacheDir(), Progress: func(s string) { t.Log(s) }}
}

const reference = "patches/vmsplice-wrapper"

func buildKernel(t *testing.T, req kernels.Request) *kernels.Build {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	bld, err := builder(t).Build(ctx, req)
	if err != nil {
		t.Fatalf("build %+v: %v", req, err)
	}
	t.Logf("build %s: %v (cached %v, recorded build time %v)", bld.Key, time.Since(start).Round(time.Millisecond), bld.Cached, bld.Duration.Round(time.Second))
	return bld
}

func bootUname(t *testing.T, bzImage string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	m, err := vm.Boot(ctx, vmtest.Boot(t, bzImage))
	if err != nil {
		var e *vm.Error
		errors.As(err, &e)
		t.Fatalf("boot %s: %v\n%s", bzImage, err, e.Detail())
	}
	defer m.Close()
	var out bytes.Buffer
	if code, err := m.Run(ctx, []string{"uname", "-rv"}, nil, &out, os.Stderr); err != nil || code != 0 {
		t.Fatalf("uname: %d %v", code, err)
	}
	if rs := m.Reports(); len(rs) > 0 {
		t.Errorf("kernel reports while booting %s: %+v", bzImage, rs)
	}
	return strings.TrimSpace(out.String())
}

func symbols(t *testing.T, systemMap string) string {
	t.Helper()
	b, err := os.ReadFile(systemMap)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIntegrationStockAndPatched(t *testing.T) {
	stock := buildKernel(t, kernels.Request{})
	patched := buildKernel(t, kernels.Request{Patches: reference})
	if stock.Key == patched.Key || stock.Source != patched.Source {
		t.Fatalf("stock %s and patched %s: want different keys, one source", stock.Key, patched.Key)
	}
	if len(patched.Patches) != 3 {
		t.Errorf("patched build records %d patches; want 3", len(patched.Patches))
	}
	// The series removes the user page buffer operations and
	// pipe_to_user(), which only vmsplice used (iter_to_pipe() itself is
	// inlined, so System.map does not show it).
	for _, sym := range []string{" user_page_pipe_buf_ops\n", " pipe_to_user\n"} {
		if !strings.Contains(symbols(t, stock.SystemMap), sym) {
			t.Errorf("stock kernel lacks%s", strings.TrimSuffix(sym, "\n"))
		}
		if strings.Contains(symbols(t, patched.SystemMap), sym) {
			t.Errorf("patched kernel still has%s: the series was not applied", strings.TrimSuffix(sym, "\n"))
		}
	}
	// Identical requests are cache hits.
	again := buildKernel(t, kernels.Request{Patches: reference})
	if !again.Cached || again.BzImage != patched.BzImage {
		t.Errorf("rebuild of the patched kernel was not a cache hit: %+v", again)
	}
	// Building the series must not have left the shared tree patched:
	// it still has what the series removes.
	tree, release, err := builder(t).Tree(context.Background(), kernels.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mustRead(t, filepath.Join(tree, "fs", "splice.c")), "pipe_to_user(") {
		t.Errorf("%s: the series stayed applied in the shared tree", tree)
	}
	release()
	again = buildKernel(t, kernels.Request{})
	if !again.Cached {
		t.Error("stock rebuild not cached")
	}
	for _, b := range []*kernels.Build{stock, patched} {
		got := bootUname(t, b.BzImage)
		if !strings.HasPrefix(got, "6.12.") {
			t.Errorf("%s: uname -rv = %q", b.Key, got)
		}
		t.Logf("%s boots: %s", b.Key, got)
	}
}

func TestIntegrationBuildErrors(t *testing.T) {
	b := builder(t)
	dir := t.TempDir()
	frag := filepath.Join(dir, "impossible.config")
	os.WriteFile(frag, []byte("CONFIG_PATCHTEST_NO_SUCH_OPTION=y\nCONFIG_KASAN=y\n"), 0o644)
	bad := filepath.Join(dir, "bad.patch")
	os.WriteFile(bad, []byte(strings.Replace(mustRead(t, reference+"/0002-vmsplice-implement-vmsplice-out-of-a-pipe-as-a-pread.patch"),
		"static ssize_t vmsplice_to_user", "static ssize_t vmsplice_to_someone", 1)), 0o644)
	broken := filepath.Join(dir, "broken.patch")
	os.WriteFile(broken, []byte(`Subject: [PATCH] splice: break the build on purpose

---
--- a/fs/splice.c
+++ b/fs/splice.c
@@ -1,3 +1,4 @@
+#error "patchtest: a patch that does not compile"
 // SPDX-License-Identifier: GPL-2.0-only
 /*
  * "splice": joining two ropes together by interweaving their strands.
`), 0o644)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		req  kernels.Request
		want string
		as   any
	}{
		{"missing source", kernels.Request{Source: filepath.Join(dir, "linux")}, "no such file", nil},
		{"not a git repository", kernels.Request{Source: "git:" + dir}, "not a git repository", nil},
		{"option cannot be set", kernels.Request{Fragments: []string{frag}}, "CONFIG_PATCHTEST_NO_SUCH_OPTION=y", new(*kernels.ConfigError)},
		{"patch does not apply", kernels.Request{Patches: bad}, "fs/splice.c", new(*kernels.PatchError)},
		{"patch does not compile", kernels.Request{Patches: broken}, "a patch that does not compile", new(*kernels.BuildError)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Build(ctx, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want one mentioning %q", err, tc.want)
			}
			if tc.as != nil && !errors.As(err, tc.as) {
				t.Errorf("err is a %T; want %T", err, tc.as)
			}
			var be *kernels.BuildError
			if errors.As(err, &be) {
				if _, serr := os.Stat(be.Log); serr != nil {
					t.Errorf("build error names log %s: %v", be.Log, serr)
				}
			}
			t.Logf("%v", err)
		})
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkCachedBuild measures an identical rebuild: a cache hit.
func BenchmarkCachedBuild(b *testing.B) {
	bl := builder(b)
	bl.Progress = nil
	for b.Loop() {
		bld, err := bl.Build(context.Background(), kernels.Request{Patches: reference})
		if err != nil {
			b.Fatal(err)
		}
		if !bld.Cached {
			b.Fatal("not a cache hit")
		}
	}
}

// TestIntegrationCompilerCache builds a one-patch series through an
// empty ccache, forgets the built kernel, builds it again and boots it:
// the second build takes the patched file from the compiler cache.
func TestIntegrationCompilerCache(t *testing.T) {
	vmtest.Integration(t)
	if _, err := setup.Program(t.Context(), setup.Need{Program: "ccache", Package: "ccache", Why: "to test builds through it"}, false, os.Stderr); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATCHTEST_CCACHE", "")
	t.Setenv("CCACHE_REMOTE_STORAGE", "")
	t.Setenv("CCACHE_DIR", filepath.Join(t.TempDir(), "ccache"))
	// A comment no earlier run has built, so the kernel is not cached.
	nonce := fmt.Sprintf("%d", time.Now().UnixNano())
	series := filepath.Join(t.TempDir(), "0001-nonce.patch")
	os.WriteFile(series, []byte(`Subject: [PATCH] splice: a comment (patchtest ccache test `+nonce+`)

---
--- a/fs/splice.c
+++ b/fs/splice.c
@@ -1,3 +1,4 @@
+// patchtest ccache test `+nonce+`
 // SPDX-License-Identifier: GPL-2.0-only
 /*
  * "splice": joining two ropes together by interweaving their strands.
`), 0o644)
	req := kernels.Request{Patches: series}
	first := buildKernel(t, req)
	defer os.RemoveAll(first.Dir)
	if c := first.CompilerCache; c == nil || c.Misses == 0 || c.Dir != os.Getenv("CCACHE_DIR") {
		t.Fatalf("first build through an empty ccache in %s: %+v, want misses there", os.Getenv("CCACHE_DIR"), c)
	}
	if spliceServed(t, first.Dir) {
		t.Errorf("first build: fs/splice.c came from an empty cache")
	}
	os.RemoveAll(first.Dir)
	second := buildKernel(t, req)
	defer os.RemoveAll(second.Dir)
	if second.Cached {
		t.Fatal("second build was found in the kernel cache after it was removed")
	}
	if c := second.CompilerCache; c == nil || c.Hits == 0 {
		t.Fatalf("second build: %+v, want hits", c)
	}
	if !spliceServed(t, second.Dir) {
		t.Errorf("second build compiled fs/splice.c again; ccache.log:\n%s", mustRead(t, filepath.Join(second.Dir, "ccache.log")))
	}
	if got := bootUname(t, second.BzImage); !strings.HasPrefix(got, "6.12") {
		t.Errorf("uname -rv = %q", got)
	}
}

// spliceServed says whether the build in dir took fs/splice.c from the
// compiler cache, from the ccache.log kept with it.
func spliceServed(t *testing.T, dir string) bool {
	t.Helper()
	file, hit := "", false
	for _, line := range strings.Split(mustRead(t, filepath.Join(dir, "ccache.log")), "\n") {
		if f, ok := strings.CutPrefix(line, "# "); ok {
			file = f
			continue
		}
		if strings.HasSuffix(file, "fs/splice.c") && (line == "direct_cache_hit" || line == "preprocessed_cache_hit") {
			hit = true
		}
	}
	return hit
}
