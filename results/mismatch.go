package results

import (
	"fmt"

	"github.com/patchtest/patchtest/suites/runs"
)

// Mismatch is how a run's two kernels differ apart from the patch: their
// releases, and the configuration options that the catalogue and the
// kernel's detectors depend on. A reviewer reads it before the changes:
// some of those may come from here rather than from the patch.
type Mismatch struct {
	// Release is "BASE vs CANDIDATE" when the releases differ.
	Release string `json:"release,omitempty"`
	// Config lists the options that differ.
	Config []runs.ConfigDiff `json:"config,omitempty"`
	// Unknown names the sides whose configuration was not found.
	Unknown []string `json:"config_unknown,omitempty"`
}

// Lines renders the mismatch for a report, one statement a line.
func (m *Mismatch) Lines() []string {
	var out []string
	if m.Release != "" {
		out = append(out, "the kernels' releases differ: "+m.Release)
	}
	if len(m.Config) > 0 {
		out = append(out, fmt.Sprintf("their configurations differ in %d option(s) the catalogue or the detectors depend on:", len(m.Config)))
		for _, d := range m.Config {
			out = append(out, "  "+d.String())
		}
	}
	for _, side := range m.Unknown {
		out = append(out, "the "+side+" kernel's configuration was not found: config differences cannot be ruled out")
	}
	return out
}
