package results

import (
	"fmt"

	"github.com/patchtest/patchtest/suites/runs"
)

// TreeBase records a run whose baseline is the candidate's own kernel
// tree at its base commit, built with the candidate's .config.
type TreeBase struct {
	// Tree is the source tree (a git work tree); Head the commit checked
	// out in it, Dirty set when it had uncommitted changes (they are part
	// of the candidate).
	Tree  string `json:"tree"`
	Head  string `json:"head"`
	Dirty bool   `json:"dirty,omitempty"`
	// Base is the baseline's commit, and How says how it was chosen.
	Base string `json:"base"`
	How  string `json:"how"`
	// Config is the .config the candidate was built with; the baseline
	// is built with it too (olddefconfig).
	Config string `json:"config"`
	// ConfigsMatch is set when the baseline's configuration, after
	// olddefconfig at the base commit, equals the candidate's option for
	// option; ConfigDiff lists the options that differ otherwise.
	ConfigsMatch bool              `json:"configs_match"`
	ConfigDiff   []runs.ConfigDiff `json:"config_diff,omitempty"`
}

// short abbreviates a commit to 12 hex digits, as the kernel's Fixes:
// tags do.
func short(commit string) string { return commit[:min(12, len(commit))] }

// Line says in one line what the baseline is.
func (t *TreeBase) Line() string {
	head := "HEAD " + short(t.Head)
	if t.Dirty {
		head += " with uncommitted changes"
	}
	return fmt.Sprintf("same-tree baseline: %s at %s (%s), built with the candidate's %s; the candidate is %s", t.Tree, short(t.Base), t.How, t.Config, head)
}

// Lines renders the record's statement for a report.
func (t *TreeBase) Lines() []string {
	out := []string{
		fmt.Sprintf("baseline:  %s at %s (%s)", t.Tree, short(t.Base), t.How),
		fmt.Sprintf("candidate: %s at %s", t.Tree, short(t.Head)),
	}
	if t.Dirty {
		out[1] += " with uncommitted changes"
	}
	switch {
	case t.ConfigsMatch:
		out = append(out, "configs match: the baseline was built with the candidate's "+t.Config+" (olddefconfig), and every option came out the same")
	case len(t.ConfigDiff) > 0:
		out = append(out, fmt.Sprintf("configs differ in %d option(s) after olddefconfig at the base commit (the patch changes Kconfig, or the .config is not the candidate's):", len(t.ConfigDiff)))
		for i, d := range t.ConfigDiff {
			if i == 20 {
				out = append(out, fmt.Sprintf("  ... and %d more", len(t.ConfigDiff)-20))
				break
			}
			out = append(out, "  "+d.String())
		}
	default:
		out = append(out, "configs: the baseline was built with the candidate's "+t.Config+"; one of the two configurations could not be read back")
	}
	return out
}
