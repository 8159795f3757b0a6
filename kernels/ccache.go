package kernels

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/patchtest/patchtest/kernels/artifact"
)

// CompilerCacheOff, as PATCHTEST_CCACHE, builds without ccache even
// when it is installed.
const CompilerCacheOff = "off"

// compilerCache is how one build uses ccache: the local cache directory,
// the stats log the build's counters go to, and ccache's own settings
// from the environment (CCACHE_REMOTE_STORAGE for a team's or a CI
// fleet's shared HTTP or Redis storage, and any other CCACHE_*).
type compilerCache struct {
	tool     string // ccache's path
	version  string // "ccache version 4.7.5"
	dir      string
	bin      string // holds gcc, a link to ccache
	statsLog string
	remote   string
}

// findCompilerCache returns ccache for a build whose stats go to
// statsLog, or nil when ccache is not installed or PATCHTEST_CCACHE is
// off. The cache lives in cacheDir/ccache unless CCACHE_DIR names
// another.
func findCompilerCache(ctx context.Context, cacheDir, statsLog string) *compilerCache {
	if os.Getenv("PATCHTEST_CCACHE") == CompilerCacheOff {
		return nil
	}
	tool, err := exec.LookPath("ccache")
	if err != nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, tool, "--version").Output()
	if err != nil {
		return nil
	}
	first, _, _ := strings.Cut(string(out), "\n")
	dir := os.Getenv("CCACHE_DIR")
	if dir == "" {
		dir = filepath.Join(cacheDir, "ccache")
	}
	bin := filepath.Join(cacheDir, "ccache-bin")
	if err := masquerade(bin, tool); err != nil {
		return nil
	}
	return &compilerCache{tool: tool, version: strings.TrimSpace(first), dir: dir, bin: bin, statsLog: statsLog,
		remote: os.Getenv("CCACHE_REMOTE_STORAGE")}
}

// masquerade makes bin/gcc a link to ccache, which, called as gcc,
// runs the next gcc on PATH through the cache. The kernel's compile
// commands stay "gcc …" whether ccache is used or not, so Kbuild, which
// recompiles an object whose command changed, rebuilds nothing when a
// machine gains or loses ccache.
func masquerade(bin, tool string) error {
	link := filepath.Join(bin, "gcc")
	if t, err := os.Readlink(link); err == nil && t == tool {
		return nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(tool, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, link)
}

// env is ccache's environment for a build in work. Paths under the
// kernels' work directory are rewritten relative to make's directory, so
// one source built in two work directories (a new version, an emptied
// kernel cache) shares the cache; the kernel's fixed build timestamp
// makes __DATE__ harmless, and a freshly unpacked tree's new ctimes
// would otherwise keep ccache from its direct mode.
func (c *compilerCache) env(workRoot string) []string {
	return []string{
		"PATH=" + c.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"CCACHE_DIR=" + c.dir,
		"CCACHE_BASEDIR=" + workRoot,
		"CCACHE_STATSLOG=" + c.statsLog,
		"CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime",
	}
}

// stats reads the build's counters from its stats log: one counter name
// a line for each compilation, '#' lines comments.
func (c *compilerCache) stats() *artifact.CompilerCache {
	s := &artifact.CompilerCache{Tool: c.version, Dir: c.dir, Remote: redactURL(c.remote)}
	f, err := os.Open(c.statsLog)
	if err != nil {
		return s
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		switch line := strings.TrimSpace(sc.Text()); {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "direct_cache_hit" || line == "preprocessed_cache_hit":
			s.Hits++
		case line == "remote_storage_hit":
			s.RemoteHits++
		case line == "cache_miss":
			s.Misses++
		case strings.HasSuffix(line, "_hit"), strings.HasSuffix(line, "_miss"),
			strings.HasPrefix(line, "local_storage"), strings.HasPrefix(line, "remote_storage"):
			// a lookup's steps and where it was served from, counted above
		default:
			s.Uncacheable++
		}
	}
	return s
}

// redactURL drops the user information (a password) from a remote
// storage URL before it is recorded.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	authority, path := rest, ""
	if slash := strings.Index(rest, "/"); slash >= 0 {
		authority, path = rest[:slash], rest[slash:]
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		authority = authority[at+1:]
	}
	return scheme + "://" + authority + path
}
