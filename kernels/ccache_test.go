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
		"":                                   "",
		"redis://cache.example:6379":         "redis://cache.example:6379",
		"redis://user:secret@cache:6379":     "redis://cache:6379",
		"http://u:p@host/path@v|layout=flat": "http://host/path@v|layout=flat",
		"file:///srv/ccache":                 "file:///srv/ccache",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCompilerCacheRealCcache compiles one file twice through the
// installed ccache with the environment a kernel build gets, from two
// work directories as an emptied kernel cache would, and reads the hit
// back from the stats log.
func TestCompilerCacheRealCcache(t *testing.T) {
	if _, err := exec.LookPath("ccache"); err != nil {
		t.Skip("ccache is not installed (apt-get install ccache)")
	}
	t.Setenv("PATCHTEST_CCACHE", "")
	t.Setenv("CCACHE_DIR", "")
	t.Setenv("CCACHE_REMOTE_STORAGE", "")
	cacheDir := t.TempDir()
	b := &Builder{CacheDir: cacheDir}
	log := filepath.Join(t.TempDir(), "stats")
	cc := findCompilerCache(context.Background(), cacheDir, log)
	if cc == nil {
		t.Fatal("ccache on PATH but not found")
	}
	if want := filepath.Join(cacheDir, "ccache"); cc.dir != want {
		t.Errorf("cache dir %s, want %s", cc.dir, want)
	}
	for _, work := range []string{"one", "two"} {
		dir := filepath.Join(b.workRoot(), work, "out")
		src := filepath.Join(b.workRoot(), work, "src", "a.c")
		os.MkdirAll(dir, 0o755)
		os.MkdirAll(filepath.Dir(src), 0o755)
		if err := os.WriteFile(src, []byte("int f(void) { return __LINE__; }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// As make runs it: "gcc" from the PATH the build gets.
		env := append(os.Environ(), cc.env(b.workRoot())...)
		cmd := exec.Command("gcc", "-O2", "-c", src, "-o", filepath.Join(dir, "a.o"))
		for _, kv := range env {
			if p, ok := strings.CutPrefix(kv, "PATH="); ok {
				gcc, err := lookPathIn("gcc", p)
				if err != nil {
					t.Fatal(err)
				}
				cmd.Path = gcc
			}
		}
		cmd.Dir = dir
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ccache gcc: %v\n%s", err, out)
		}
	}
	got := cc.stats()
	if got.Hits != 1 || got.Misses != 1 {
		t.Errorf("two compilations of one file in two work directories: %+v, want 1 hit and 1 miss", *got)
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
