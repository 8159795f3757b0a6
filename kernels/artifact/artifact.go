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
	Key        string        `json:"key"`
	Dir        string        `json:"dir"`
	BzImage    string        `json:"bzimage"`
	Config     string        `json:"config"`
	SystemMap  string        `json:"system_map"`
	Log        string        `json:"log"`
	Source     string        `json:"source"`      // the source's exact identity
	SourceSpec string        `json:"source_spec"` // as requested
	Series     string        `json:"series,omitempty"`
	Patches    []Patch       `json:"patches,omitempty"`
	Base       string        `json:"base"`
	Fragments  []string      `json:"fragments"`
	Compiler   string        `json:"compiler"`
	Built      time.Time     `json:"built"`
	Duration   time.Duration `json:"duration_ns"`
	// Cached is set when Build found the kernel in the cache.
	Cached bool `json:"cached"`
}
