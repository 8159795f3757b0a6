package runs

import (
	"fmt"
	"time"
)

// KernelSpec says where one side's kernel came from, recorded as it was
// run.
type KernelSpec struct {
	Path      string   `json:"path,omitempty"`
	Source    string   `json:"source,omitempty"`
	Patches   string   `json:"patches,omitempty"`
	Base      string   `json:"base,omitempty"`
	Fragments []string `json:"fragments,omitempty"`
	// Config is a whole .config it was built with instead of Base and
	// Fragments.
	Config string `json:"config,omitempty"`
	// PatchCount is the number of the series' patches applied (a column
	// of a per-patch run); all when 0.
	PatchCount int `json:"patch_count,omitempty"`
	// TreeName is the tree's common name (mainline, net-next) when the
	// configuration gives it.
	TreeName string `json:"tree_name,omitempty"`
}

// Build describes a kernel built from source.
type Build struct {
	Key        string `json:"key"`
	Dir        string `json:"dir"`
	BzImage    string `json:"bzimage"`
	Config     string `json:"config"`
	SystemMap  string `json:"system_map"`
	Log        string `json:"log"`
	Source     string `json:"source"`      // the source's exact identity
	SourceSpec string `json:"source_spec"` // as requested
	// Git is the commit a git source was built from.
	Git       *GitIdentity  `json:"git,omitempty"`
	Series    string        `json:"series,omitempty"`
	Patches   []Patch       `json:"patches,omitempty"`
	Base      string        `json:"base"`
	Fragments []string      `json:"fragments"`
	Compiler  string        `json:"compiler"`
	Built     time.Time     `json:"built"`
	Duration  time.Duration `json:"duration_ns"`
	// CompilerCache is what the compiler cache did; nil without one.
	CompilerCache *CompilerCache `json:"compiler_cache,omitempty"`
	// Cached is set when the kernel was found already built.
	Cached bool `json:"cached"`
}

// Patch is one patch of a kernel's series.
type Patch struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

// GitIdentity is the commit a kernel was built from, with its
// repository's upstream URL and branch where they are known.
type GitIdentity struct {
	Commit string `json:"commit"`
	URL    string `json:"url,omitempty"`
	Branch string `json:"branch,omitempty"`
}

// CompilerCache is what ccache did for one build.
type CompilerCache struct {
	Tool        string `json:"tool"`
	Dir         string `json:"dir"`
	Remote      string `json:"remote,omitempty"`
	Hits        int    `json:"hits"`
	RemoteHits  int    `json:"remote_hits,omitempty"`
	Misses      int    `json:"misses"`
	Uncacheable int    `json:"uncacheable"`
}

// Capabilities is what a kernel can report, read from its configuration
// before it booted.
type Capabilities struct {
	// Config is where its configuration was read; empty when none was.
	Config string `json:"config,omitempty"`
	// Limits are the detectors and facilities it lacks.
	Limits []Limit `json:"limits,omitempty"`
}

// Limit is one thing a kernel cannot report, and the option it lacks
// (none when its configuration is unknown).
type Limit struct {
	Option string `json:"option,omitempty"`
	Effect string `json:"effect"`
}

func (l Limit) String() string {
	if l.Option == "" {
		return l.Effect
	}
	return l.Effect + " (" + l.Option + " is not set)"
}

// ConfigDiff is one configuration option the two kernels set
// differently; empty is not set.
type ConfigDiff struct {
	Option    string `json:"option"`
	Baseline  string `json:"baseline"`
	Candidate string `json:"candidate"`
}

func (d ConfigDiff) String() string {
	return fmt.Sprintf("%s: %s -> %s", d.Option, notSet(d.Baseline), notSet(d.Candidate))
}

func notSet(v string) string {
	if v == "" {
		return "not set"
	}
	return v
}
