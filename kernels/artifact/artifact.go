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
