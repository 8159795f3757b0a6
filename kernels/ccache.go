package kernels

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
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
	bin      string // holds gcc, the wrapper script (wrapperScript)
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
	if err := writeWrapper(bin, tool); err != nil {
		return nil
	}
	return &compilerCache{tool: tool, version: strings.TrimSpace(first), dir: dir, bin: bin, statsLog: statsLog,
		remote: os.Getenv("CCACHE_REMOTE_STORAGE")}
}

// wrapperScript is bin/gcc: the real gcc through ccache, except for a
// source that embeds another file with the assembler's .incbin (the
// kernel's piggy.S embeds the compressed vmlinux, configs.c the
// config, initramfs_data.S the initramfs). ccache's depend mode hashes a
// source and the headers the compiler names, never an .incbin'd file,
// so piggy.S, whose text changes only with the payload's size, came
// back from the cache holding an earlier kernel (ccache detects .incbin
// in depend mode only from 4.12). Such a source is compiled directly.
// The kernel's compile commands stay "gcc …" whether ccache is used or
// not, so Kbuild, which recompiles an object whose command changed,
// rebuilds nothing when a machine gains or loses ccache.
const wrapperScript = `#!/bin/sh
# Written by patchtest: gcc through ccache, except for sources that
# embed a file with .incbin, which ccache's depend mode does not see.
for a do
	case $a in
	-*) ;;
	*.c|*.S|*.s) if %[3]s -qsF .incbin -- "$a"; then exec %[2]s "$@"; fi ;;
	esac
done
exec %[1]s %[2]s "$@"
`

// writeWrapper makes bin/gcc the wrapper script that compiles with gcc
// through tool (ccache), unless it already is.
func writeWrapper(bin, tool string) error {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return err
	}
	if gcc, err = filepath.Abs(gcc); err != nil {
		return err
	}
	if filepath.Dir(gcc) == bin {
		return fmt.Errorf("gcc on PATH is patchtest's own wrapper %s", gcc)
	}
	grep, err := exec.LookPath("grep")
	if err != nil {
		return err
	}
	script := fmt.Sprintf(wrapperScript, shellQuote(tool), shellQuote(gcc), shellQuote(grep))
	link := filepath.Join(bin, "gcc")
	if old, err := os.ReadFile(link); err == nil && string(old) == script {
		return nil
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	// Builds starting at once write the same script; the last rename
	// wins. renameio also replaces the link earlier versions made.
	return renameio.WriteFile(link, []byte(script), 0o755)
}

// shellQuote quotes s for sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// env is ccache's environment for a build. No base directory is set:
// ccache would hand the compiler the rewritten, relative paths, and
// Kbuild's -fmacro-prefix-map, which strips the absolute source path,
// would then leave __FILE__ (in every WARN's and BUG's title) as
// "../src/fs/splice.c" instead of "fs/splice.c". A work directory's path
// depends only on the source and the cache directory, so a kernel cache
// emptied in place, or restored at the same path, still hits. The
// kernel's fixed build timestamp makes __DATE__ harmless, and a freshly
// unpacked tree's new ctimes would otherwise keep ccache from its
// direct mode.
func (c *compilerCache) env() []string {
	return []string{
		"PATH=" + c.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"CCACHE_DIR=" + c.dir,
		"CCACHE_STATSLOG=" + c.statsLog,
		"CCACHE_SLOPPINESS=time_macros,include_file_mtime,include_file_ctime",
		// A miss compiles once: the dependencies come from the
		// compiler's own -MMD output (Kbuild passes -Wp,-MMD), not from
		// a separate run of the preprocessor, which made a cold build
		// through ccache about a third slower.
		"CCACHE_DEPEND=true",
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

// redactURL keeps of ccache's remote storage setting (one or more
// URLs separated by spaces, each perhaps with |attributes) only each
// URL's scheme, host and path: user information and attributes (a
// bearer token) may be secrets.
func redactURL(setting string) string {
	var out []string
	for _, entry := range strings.Fields(setting) {
		u, _, _ := strings.Cut(entry, "|")
		p, err := url.Parse(u)
		if err != nil || p.Scheme == "" {
			out = append(out, "(unparsed)")
			continue
		}
		out = append(out, (&url.URL{Scheme: p.Scheme, Host: p.Host, Path: p.Path}).String())
	}
	return strings.Join(out, " ")
}
