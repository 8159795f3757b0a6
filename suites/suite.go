// Package suites holds patchtest's test cases: the splice, sendfile,
// vmsplice and tee behaviour catalogue. Each case performs a short syscall
// sequence in the guest and records an Observation — what the kernel did,
// as a small typed value — so that kernels can be compared case by case.
// Only invariants (data integrity, a read-only file never modified) pass
// or fail on their own. The peer suites (peer.go) run other projects'
// tests, the kernel's selftests and stress-ng, as hidden cases whose
// subtests become cases of their own.
package suites

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Case is one entry of the catalogue.
type Case struct {
	// ID is stable across releases: suite/group/name, e.g.
	// vmsplice/alias/modify-after-call.
	ID string
	// Desc says in one line what the case does.
	Desc string
	// Calls is the syscall sequence, for a reader of the results.
	Calls string
	// Pins names the man page or kernel behaviour the case pins down.
	Pins string
	// Timeout bounds the case; DefaultTimeout when zero. A syscall that
	// is expected to possibly block is given its own, shorter, bound
	// through T.Bounded.
	Timeout time.Duration
	// Run performs the case and returns what it observed.
	Run func(t *T) Observation
	// Needs lists the kernel options (CONFIG_FOO) without which the case
	// skips: two kernels that differ in them cannot be compared on it.
	Needs []string
	// Hidden cases (the harness's self-tests) run only when a pattern
	// names their suite explicitly; "all cases" leaves them out.
	Hidden bool
}

// DefaultTimeout bounds a case that sets no Timeout.
const DefaultTimeout = 10 * time.Second

// Suite is the first part of the case's ID.
func (c *Case) Suite() string { s, _, _ := strings.Cut(c.ID, "/"); return s }

var idRe = regexp.MustCompile(`^[a-z0-9_]+(/[a-z0-9_.+-]+){2,3}$`)

// Registry is an ordered set of cases.
type Registry struct {
	cases []*Case
	byID  map[string]*Case
}

// Add registers cases; an invalid or duplicate ID panics, since the
// catalogue is code.
func (r *Registry) Add(cases ...*Case) {
	if r.byID == nil {
		r.byID = map[string]*Case{}
	}
	for _, c := range cases {
		if !idRe.MatchString(c.ID) {
			panic(fmt.Sprintf("suites: case ID %q is not suite/group/name in lower case", c.ID))
		}
		if _, dup := r.byID[c.ID]; dup {
			panic("suites: duplicate case " + c.ID)
		}
		if c.Desc == "" || c.Run == nil {
			panic("suites: case " + c.ID + " lacks a description or Run")
		}
		r.byID[c.ID] = c
		r.cases = append(r.cases, c)
	}
}

// Cases returns every case, hidden ones included, in registration order.
func (r *Registry) Cases() []*Case { return append([]*Case(nil), r.cases...) }

// Select returns the cases whose IDs match any of the glob patterns
// (path.Match syntax, where a trailing /* also matches deeper IDs); all
// cases when there are none. A pattern that matches nothing is an error,
// so that a typo does not silently run nothing.
func (r *Registry) Select(patterns ...string) ([]*Case, error) {
	if len(patterns) == 0 {
		var out []*Case
		for _, c := range r.cases {
			if !c.Hidden {
				out = append(out, c)
			}
		}
		return out, nil
	}
	seen := map[string]bool{}
	var out []*Case
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("suite pattern %q: %w", p, err)
		}
		n := 0
		for _, c := range r.cases {
			if c.Hidden && !strings.HasPrefix(p, c.Suite()+"/") {
				continue
			}
			if matches(p, c.ID) {
				n++
				if !seen[c.ID] {
					seen[c.ID] = true
					out = append(out, c)
				}
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("suite pattern %q matches no case (patchtest suites list shows them)", p)
		}
	}
	order := map[string]int{}
	for i, c := range r.cases {
		order[c.ID] = i
	}
	sort.Slice(out, func(i, j int) bool { return order[out[i].ID] < order[out[j].ID] })
	return out, nil
}

func matches(pattern, id string) bool {
	if ok, _ := path.Match(pattern, id); ok {
		return true
	}
	// suite/* also selects suite/group/name.
	for prefix := pattern; strings.HasSuffix(prefix, "/*"); {
		prefix = strings.TrimSuffix(prefix, "/*")
		parts := strings.Split(id, "/")
		for i := 1; i < len(parts); i++ {
			if ok, _ := path.Match(prefix, strings.Join(parts[:i], "/")); ok {
				return true
			}
		}
		break
	}
	return false
}

// CommonNeeds are the kernel options every part of the catalogue relies
// on: pipes over tmpfs files, loopback and UNIX sockets.
var CommonNeeds = []string{"CONFIG_TMPFS", "CONFIG_SHMEM", "CONFIG_NET", "CONFIG_INET", "CONFIG_UNIX", "CONFIG_PROC_FS"}

// ConfigOptions returns the kernel options the cases depend on:
// CommonNeeds and every case's Needs.
func (r *Registry) ConfigOptions() []string {
	out := append([]string(nil), CommonNeeds...)
	seen := map[string]bool{}
	for _, o := range out {
		seen[o] = true
	}
	for _, c := range r.cases {
		for _, o := range c.Needs {
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	return out
}

// Catalogue returns the registry of every built-in case.
func Catalogue() *Registry {
	r := &Registry{}
	r.Add(vmspliceCases()...)
	r.Add(spliceCases()...)
	r.Add(sendfileCases()...)
	r.Add(teeCases()...)
	r.Add(copyRangeCases()...)
	r.Add(pipeCases()...)
	r.Add(securityCases()...)
	r.Add(selftestCases()...)
	r.Add(peerCases()...)
	return r
}
