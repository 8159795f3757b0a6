package kernels

import (
	"fmt"
	"strings"
)

// ConfigError lists the requested options that olddefconfig did not keep.
type ConfigError struct {
	Missing []ConfigMismatch
	Config  string // the resulting .config
}

// ConfigMismatch is one requested option and what the config has instead.
type ConfigMismatch struct {
	Option, Want, Got, Fragment string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d requested config option(s) could not be set (their dependencies are missing or they do not exist in this kernel):", len(e.Missing))
	for _, m := range e.Missing {
		got := m.Got
		if got == "" {
			got = "not set"
		}
		fmt.Fprintf(&b, "\n  %s=%s (from %s): %s", m.Option, m.Want, m.Fragment, got)
	}
	fmt.Fprintf(&b, "\nresulting config: %s", e.Config)
	return b.String()
}

// PatchError says which patch did not apply, and where.
type PatchError struct {
	Patch   string
	Subject string
	Detail  string
}

func (e *PatchError) Error() string {
	return fmt.Sprintf("patch %s (%q) does not apply:\n%s", e.Patch, e.Subject, e.Detail)
}

// InputError is a source, series or fragment that cannot be used.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }

func (e *InputError) Unwrap() error { return e.Err }

// BuildError is a failed make, with the log's last lines.
type BuildError struct {
	Log string
	// Errors are the compiler's error lines, which a parallel make may
	// have pushed far above the log's end.
	Errors string
	Tail   string
	Err    error
}

func (e *BuildError) Error() string {
	msg := fmt.Sprintf("kernel build failed: %v\n", e.Err)
	if e.Errors != "" {
		msg += "errors:\n" + e.Errors + "\n"
	}
	return msg + fmt.Sprintf("last lines of %s:\n%s", e.Log, e.Tail)
}

// compileErrors returns the log's error lines ("file:line:col: error:"
// and "#error"), at most max of them, each with the line before it.
func compileErrors(log string, max int) string {
	lines := strings.Split(log, "\n")
	var out []string
	for i, l := range lines {
		if !strings.Contains(l, ": error:") && !strings.Contains(l, ": fatal error:") {
			continue
		}
		if i > 0 && strings.Contains(lines[i-1], "In file included from") || i > 0 && strings.Contains(lines[i-1], ": In function") {
			out = append(out, lines[i-1])
		}
		out = append(out, l)
		if len(out) >= max {
			break
		}
	}
	return strings.Join(out, "\n")
}

func (e *BuildError) Unwrap() error { return e.Err }
