package configs

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultRun is the built-in run configuration (default.yaml).
//
//go:embed default.yaml
var DefaultRun []byte

// Run is a run configuration: which kernels to compare and how.
type Run struct {
	Kernels struct {
		Baseline  KernelSpec `yaml:"baseline"`
		Candidate KernelSpec `yaml:"candidate"`
	} `yaml:"kernels"`
	Config struct {
		Base      string   `yaml:"base"`
		Fragments []string `yaml:"fragments"`
	} `yaml:"config"`
	Suites []string `yaml:"suites"`
	// Peer are the peer suites run beside the catalogue: kselftest,
	// stress-ng.
	Peer struct {
		Suites []string `yaml:"suites"`
		// Source is the kernel tree the kselftests are built from; the
		// candidate's own when empty.
		Source string `yaml:"source"`
	} `yaml:"peer"`
	Expect string `yaml:"expect"`
	QEMU   struct {
		Accel     string        `yaml:"accel"`
		CPUs      int           `yaml:"cpus"`
		MemoryMiB int           `yaml:"memory_mib"`
		Timeout   time.Duration `yaml:"timeout"`
		// Jobs is how many machines may run at once.
		Jobs int `yaml:"jobs"`
	} `yaml:"qemu"`
	Perf struct {
		// Level is off, quick, standard or thorough.
		Level      string   `yaml:"level"`
		Benchmarks []string `yaml:"benchmarks"`
		// Alpha is the significance level of the Mann-Whitney U test.
		Alpha float64 `yaml:"alpha"`
		// ThresholdPct is the least change that counts as real.
		ThresholdPct float64 `yaml:"threshold_pct"`
		// FailPct is the size of an undeclared regression that fails
		// the run when measured in real time; CountedFailPct when both
		// clocks count instructions.
		FailPct        float64 `yaml:"fail_pct"`
		CountedFailPct float64 `yaml:"icount_fail_pct"`
		RequireKVM     bool    `yaml:"require_kvm"`
		// Clock is what guest time counts under TCG: real or icount.
		Clock string `yaml:"clock"`
		// Rounds and SampleTime override the level's when set.
		Rounds     int           `yaml:"rounds"`
		SampleTime time.Duration `yaml:"sample_time"`
	} `yaml:"perf"`
	// Fuzz fuzzes both kernels with the same programs after the
	// catalogue: for Duration (none when zero), programs from Seed.
	Fuzz struct {
		Duration time.Duration `yaml:"duration"`
		Seed     uint64        `yaml:"seed"`
	} `yaml:"fuzz"`
	Out string `yaml:"out"`
	// DashboardURL is where `patchtest serve` over Out is reached by
	// reviewers (https://ci.example.org/patchtest): each run's links (a
	// Patchwork check's target_url, the report's) point at its page
	// there. None when empty.
	DashboardURL string `yaml:"dashboard_url"`
}

// KernelSpec says where one kernel of a run comes from: a bzImage (or
// debian:FLAVOUR) as Path, or a build of Source with an optional patch
// series, on the configuration Base with Fragments. It is the one
// description of a kernel from the configuration file to the record: in a
// run configuration, base and fragments are given once, under config:,
// for both kernels.
type KernelSpec struct {
	Path      string   `yaml:"path" json:"path,omitempty"`
	Source    string   `yaml:"source" json:"source,omitempty"`
	Patches   string   `yaml:"patches" json:"patches,omitempty"`
	Base      string   `yaml:"-" json:"base,omitempty"`
	Fragments []string `yaml:"-" json:"fragments,omitempty"`
	// Config is a whole .config to build with instead of Base and
	// Fragments (a user's tree built as its own baseline).
	Config string `yaml:"-" json:"config,omitempty"`
	// PatchCount applies only the series' first PatchCount patches (a
	// column of a per-patch run); all when 0.
	PatchCount int `yaml:"-" json:"patch_count,omitempty"`
	// TreeName is the tree's common name as KernelCI knows it (mainline,
	// next, net-next, stable), for KCIDB's tree_name; left out when
	// empty, never guessed from the source.
	TreeName string `yaml:"tree_name" json:"tree_name,omitempty"`
}

// Built reports whether the kernel is built from a source rather than
// given as an image.
func (k KernelSpec) Built() bool { return k.Path == "" }

// Describe names the kernel in a few words: its image, or its source
// with the series applied.
func (k KernelSpec) Describe() string {
	switch {
	case k.Path != "":
		return k.Path
	case k.Patches != "":
		return k.Source + " + " + k.Patches
	case k.Source == "":
		return "debian:6.12"
	}
	return k.Source
}

// LoadRun parses a run configuration. Unknown keys and bad values are
// errors naming the file, the line and the key. Every setting it leaves
// out has the built-in configuration's value (default.yaml is the one
// place for defaults), except the kernels and the expectations, which are
// the file's alone: a file that names no candidate compares the source
// built stock with itself.
func LoadRun(name string, data []byte) (*Run, error) {
	r, err := Defaults()
	if err != nil {
		return nil, err
	}
	if name != DefaultRunName {
		r.Kernels.Baseline, r.Kernels.Candidate, r.Expect = KernelSpec{}, KernelSpec{}, ""
	}
	if err := decode(name, data, r); err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// DefaultRunName names the built-in configuration in messages.
const DefaultRunName = "configs/default.yaml (built in)"

// Defaults returns (a copy of) the built-in run configuration,
// default.yaml: the one place where a run's defaults are written.
func Defaults() (*Run, error) {
	r, err := defaults()
	if err != nil {
		return nil, err
	}
	c := *r
	c.Suites = slices.Clone(r.Suites)
	c.Peer.Suites = slices.Clone(r.Peer.Suites)
	c.Config.Fragments = slices.Clone(r.Config.Fragments)
	c.Perf.Benchmarks = slices.Clone(r.Perf.Benchmarks)
	return &c, nil
}

var defaults = sync.OnceValues(func() (*Run, error) {
	var r Run
	if err := decode(DefaultRunName, DefaultRun, &r); err != nil {
		return nil, err
	}
	return &r, nil
})

// MustDefaults is Defaults for code that needs a default value: the
// built-in configuration is part of the binary, and is tested to parse.
func MustDefaults() *Run {
	r, err := Defaults()
	if err != nil {
		panic(err)
	}
	return r
}

// decode decodes YAML data into r, strictly; what data leaves out keeps
// r's value.
func decode(name string, data []byte, r *Run) error {
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(r); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: %s", name, strings.Join(te.Errors, "; "))
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// LoadRunFile reads and parses a run configuration file.
func LoadRunFile(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadRun(path, b)
}

func (r *Run) check() error {
	for role, k := range map[string]KernelSpec{"baseline": r.Kernels.Baseline, "candidate": r.Kernels.Candidate} {
		if k.Path != "" && (k.Source != "" || k.Patches != "") {
			return fmt.Errorf("kernels.%s: give path, or source with patches, not both", role)
		}
	}
	switch r.Config.Base {
	case "", "tinyconfig", "defconfig":
	default:
		return fmt.Errorf("config.base: %q, want tinyconfig or defconfig", r.Config.Base)
	}
	switch r.QEMU.Accel {
	case "", "auto", "kvm", "tcg":
	default:
		return fmt.Errorf("qemu.accel: %q, want auto, kvm or tcg", r.QEMU.Accel)
	}
	switch r.Perf.Level {
	case "", "off", "quick", "standard", "thorough":
	default:
		return fmt.Errorf("perf.level: %q, want off, quick, standard or thorough", r.Perf.Level)
	}
	switch r.Perf.Clock {
	case "", "real", "icount":
	default:
		return fmt.Errorf("perf.clock: %q, want real or icount", r.Perf.Clock)
	}
	if err := checkDashboardURL(r.DashboardURL); err != nil {
		return err
	}
	if r.Fuzz.Duration < 0 {
		return errors.New("fuzz.duration must not be negative")
	}
	if r.Perf.Alpha < 0 || r.Perf.Alpha >= 1 {
		return fmt.Errorf("perf.alpha: %v, want a value in (0, 1), e.g. 0.05", r.Perf.Alpha)
	}
	if r.Perf.ThresholdPct < 0 || r.Perf.FailPct < 0 || r.Perf.CountedFailPct < 0 || r.Perf.Rounds < 0 || r.Perf.SampleTime < 0 {
		return errors.New("perf: threshold_pct, fail_pct, icount_fail_pct, rounds and sample_time must not be negative")
	}
	if r.QEMU.CPUs < 0 || r.QEMU.MemoryMiB < 0 || r.QEMU.Timeout < 0 || r.QEMU.Jobs < 0 {
		return errors.New("qemu: cpus, memory_mib, timeout and jobs must not be negative")
	}
	return nil
}

// checkDashboardURL accepts an empty base or an absolute http(s) URL with
// a host and no query or fragment.
func checkDashboardURL(base string) error {
	if base == "" {
		return nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("dashboard_url: %q, want the http(s) address patchtest serve is reached at, e.g. https://ci.example.org/patchtest", base)
	}
	return nil
}
