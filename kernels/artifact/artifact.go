// Package artifact describes a kernel that patchtest built, as its cache
// keeps it (build.json): where the image, configuration and log are, and
// which source, series, configuration and compiler made it. The record
// of a run carries it; the builder that makes it lives in kernels.
package artifact

import "time"

// Patch records one applied patch.
type Patch struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

// Build is a built kernel in the cache.
type Build struct {
	Key        string `json:"key"`
	Dir        string `json:"dir"`
	BzImage    string `json:"bzimage"`
	Config     string `json:"config"`
	SystemMap  string `json:"system_map"`
	Log        string `json:"log"`
	Source     string `json:"source"`      // the source's exact identity
	SourceSpec string `json:"source_spec"` // as requested
	// Git is the commit a git source was built from, with its
	// repository's upstream URL and branch where they are known.
	Git       *GitIdentity  `json:"git,omitempty"`
	Series    string        `json:"series,omitempty"`
	Patches   []Patch       `json:"patches,omitempty"`
	Base      string        `json:"base"`
	Fragments []string      `json:"fragments"`
	Compiler  string        `json:"compiler"`
	Built     time.Time     `json:"built"`
	Duration  time.Duration `json:"duration_ns"`
	// CompilerCache is what ccache did for this build; nil when it was
	// built without.
	CompilerCache *CompilerCache `json:"compiler_cache,omitempty"`
	// Cached is set when Build found the kernel in the cache.
	Cached bool `json:"cached"`
}

// GitIdentity names a git source's commit as KernelCI does: the commit
// hash, and the repository's URL and branch when the local repository
// knows them (the branch's upstream remote, else origin).
type GitIdentity struct {
	Commit string `json:"commit"`
	URL    string `json:"url,omitempty"`
	Branch string `json:"branch,omitempty"`
}

// CompilerCache is what ccache did for one build: its compilations
// served from the cache (local or remote), those compiled and stored,
// and those it cannot cache (preprocessing, linking, probes).
type CompilerCache struct {
	Tool   string `json:"tool"`
	Dir    string `json:"dir"`
	Remote string `json:"remote,omitempty"`
	Hits   int    `json:"hits"`
	// RemoteHits are the hits the remote storage served.
	RemoteHits  int `json:"remote_hits,omitempty"`
	Misses      int `json:"misses"`
	Uncacheable int `json:"uncacheable"`
}

// HitRate is the share of cacheable compilations served from the cache.
func (c *CompilerCache) HitRate() float64 {
	if c == nil || c.Hits+c.Misses == 0 {
		return 0
	}
	return float64(c.Hits) / float64(c.Hits+c.Misses)
}
