package kernels

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/kernels/artifact"
)

func TestCompilerCacheStats(t *testing.T) {
	tests := []struct {
		name string
		log  string
		want artifact.CompilerCache
	}{
		{"empty", "", artifact.CompilerCache{}},
		{"miss then direct hit", "# a.c\ncache_miss\ndirect_cache_miss\nlocal_storage_miss\nlocal_storage_write\npreprocessed_cache_miss\n# a.c\ndirect_cache_hit\nlocal_storage_hit\nlocal_storage_read_hit\n",
			artifact.CompilerCache{Hits: 1, Misses: 1}},
		{"preprocessed and remote hits", "preprocessed_cache_hit\ndirect_cache_miss\nremote_storage_hit\nremote_storage_read_hit\ndirect_cache_hit\n",
			artifact.CompilerCache{Hits: 2, RemoteHits: 1}},
		{"uncacheable", "called_for_preprocessing\ncalled_for_link\nautoconf_test\n", artifact.CompilerCache{Uncacheable: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "stats")
			if err := os.WriteFile(log, []byte(tt.log), 0o644); err != nil {
				t.Fatal(err)
			}
			got := (&compilerCache{statsLog: log}).stats()
			got.Tool, got.Dir, got.Remote = "", "", ""
			if *got != tt.want {
				t.Errorf("stats = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     "",
		"redis://cache.example:6379":           "redis://cache.example:6379",
		"redis://user:secret@cache:6379":       "redis://cache:6379",
		"redis://:p/ss@host":                   "(unparsed)",
		"http://u:p@host/path|layout=flat":     "http://host/path",
		"http://host/c|bearer-token=SECRET":    "http://host/c",
		"redis://:pw1@a:6379 http://u:pw2@b/c": "redis://a:6379 http://b/c",
		"file:///srv/ccache":                   "file:///srv/ccache",
	} {
		if got := redactURL(in); got != want || strings.Contains(got, "pw") || strings.Contains(got, "SECRET") {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCompilerCacheRealCcache compiles one file twice through the
// installed ccache with the environment a kernel build gets, as make
// runs it ("gcc" from the build's PATH), and reads the miss and the hit
// back from the stats log; the object keeps the source's path as given.
func TestCompilerCacheRealCcache(t *testing.T) {
	if _, err := exec.LookPath("ccache"); err != nil {
		t.Skip("ccache is not installed (apt-get install ccache)")
	}
	t.Setenv("PATCHTEST_CCACHE", "")
	t.Setenv("CCACHE_DIR", "")
	t.Setenv("CCACHE_REMOTE_STORAGE", "")
	cacheDir := t.TempDir()
	log := filepath.Join(t.TempDir(), "stats")
	cc := findCompilerCache(context.Background(), cacheDir, log)
	if cc == nil {
		t.Fatal("ccache on PATH but not found")
	}
	if want := filepath.Join(cacheDir, "ccache"); cc.dir != want {
		t.Errorf("cache dir %s, want %s", cc.dir, want)
	}
	work := t.TempDir()
	src := filepath.Join(work, "src", "a.c")
	out := filepath.Join(work, "out")
	os.MkdirAll(filepath.Dir(src), 0o755)
	os.MkdirAll(out, 0o755)
	if err := os.WriteFile(src, []byte("const char *f(void) { return __FILE__; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), cc.env()...)
	var gcc string
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			var err error
			if gcc, err = lookPathIn("gcc", p); err != nil {
				t.Fatal(err)
			}
		}
	}
	if script, err := os.ReadFile(gcc); err != nil || !strings.Contains(string(script), "exec "+shellQuote(cc.tool)) {
		t.Fatalf("gcc on the build's PATH is %s (%v), not the wrapper that runs %s:\n%s", gcc, err, cc.tool, script)
	}
	for range 2 {
		cmd := exec.Command(gcc, "-O2", "-c", src, "-o", filepath.Join(out, "a.o"))
		cmd.Dir = out
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gcc through ccache: %v\n%s", err, b)
		}
	}
	got := cc.stats()
	if got.Hits != 1 || got.Misses != 1 {
		t.Errorf("two compilations of one file: %+v, want 1 hit and 1 miss", *got)
	}
	obj, err := os.ReadFile(filepath.Join(out, "a.o"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(obj), src) {
		t.Errorf("a.o does not hold __FILE__ as the compiler was given it (%s): ccache rewrote the path", src)
	}
}

// lookPathIn finds file in the directories of path, as a shell would.
func lookPathIn(file, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}

// TestCompilerCacheIncbin compiles, through the build's gcc, an assembler
// file that embeds a data file with .incbin (as the kernel's piggy.S
// embeds the compressed vmlinux, and configs.c the config), changes
// the data but not its size, and compiles again: the object must carry
// the new data. ccache's depend mode does not see .incbin (ccache before
// 4.12 detected it only in preprocessor mode) and returned the first
// object, so that a patched kernel's bzImage held an earlier kernel.
func TestCompilerCacheIncbin(t *testing.T) {
	if _, err := exec.LookPath("ccache"); err != nil {
		t.Skip("ccache is not installed (apt-get install ccache)")
	}
	t.Setenv("PATCHTEST_CCACHE", "")
	t.Setenv("CCACHE_DIR", "")
	t.Setenv("CCACHE_REMOTE_STORAGE", "")
	cc := findCompilerCache(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "stats"))
	if cc == nil {
		t.Fatal("ccache on PATH but not found")
	}
	env := append(os.Environ(), cc.env()...)
	gcc, err := lookPathIn("gcc", cc.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, f := range []struct{ name, text string }{
		{"piggy.S", ".section .rodata\n.globl input_data\ninput_data:\n.incbin \"payload.bin\"\n"},
		{"plain.c", "int f(void) { return 42; }\n"},
	} {
		if err := os.WriteFile(filepath.Join(out, f.name), []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	compile := func(src string) []byte {
		t.Helper()
		obj := strings.TrimSuffix(src, filepath.Ext(src)) + ".o"
		cmd := exec.Command(gcc, "-Wp,-MMD,."+obj+".d", "-c", "-o", obj, src)
		cmd.Dir = out
		cmd.Env = env
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gcc %s: %v\n%s", src, err, b)
		}
		data, err := os.ReadFile(filepath.Join(out, obj))
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for _, payload := range []string{"first kernel's vmlinux", "second kernel vmlinux!"} {
		if err := os.WriteFile(filepath.Join(out, "payload.bin"), []byte(payload), 0o644); err != nil {
			t.Fatal(err)
		}
		if obj := compile("piggy.S"); !strings.Contains(string(obj), payload) {
			t.Errorf("piggy.o after the payload became %q does not hold it: the compiler cache returned a stale object", payload)
		}
	}
	// Everything else still goes through the cache.
	compile("plain.c")
	compile("plain.c")
	if got := cc.stats(); got.Hits != 1 {
		t.Errorf("plain.c compiled twice: %+v, want one hit", *got)
	}
}
