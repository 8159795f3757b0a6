package suites

import (
	"slices"
	"strings"
)

// The peer suites are other projects' tests run in the same guests as the
// catalogue: the kernel's own selftests for splice, mm/cow and net/tls,
// built from the candidate's source tree, and stress-ng's pipe and splice
// stressors. Each program is one hidden case (peer/kselftest/mm.cow) that
// runs it under a bound and records every subtest it reports as a case
// of its own (peer/kselftest/mm.cow/vmsplice-unmap-in-child-...).

// PeerSuite is one peer suite: its cases and what the host and the
// reports need to know of it. Adding one is a file with its cases and its
// entry, and one line in Peers.
type PeerSuite struct {
	// Name is the suite's name as --peer takes it; its cases are
	// peer/NAME/....
	Name string
	// What says in a few words what it runs, for the help.
	What  string
	Cases func() []*Case
	// Host are what the host needs for it.
	Host []HostNeed
	// Copy are host programs (found in PATH) the host copies into every
	// guest.
	Copy []string
	// Selftests is set when it runs the kernel's own selftests, which the
	// host builds from the candidate's source tree into KselftestRoot.
	Selftests bool
	// Counted is set when its cases run in a guest of their own whose
	// time counts instructions, so that their figures compare across
	// kernels (real time under TCG does not); the kernels then run side
	// by side.
	Counted bool
	// Figures, when set, says which of its cases' metrics the reports
	// compare between the kernels; About says what the figures are, and
	// Related names patchtest's nearest benchmark to a case (by its ID's
	// last element).
	Figures func(metric string) bool
	About   string
	Related map[string]string
}

// HostNeed is a program or library the host needs for a peer suite, and
// the Debian package that has it.
type HostNeed struct {
	Program, Package, Why string
	// Library is set for a library (libc.a) rather than a program.
	Library bool
}

// Peers are the peer suites.
func Peers() []PeerSuite {
	return []PeerSuite{
		kselftestPeer(),
		stressNGPeer(),
	}
}

// PeerNames are the peer suites' names, as --peer takes them.
func PeerNames() []string {
	var out []string
	for _, p := range Peers() {
		out = append(out, p.Name)
	}
	return out
}

// PeerHelp lists the peer suites with what each runs, for --peer's help.
func PeerHelp() string {
	var out []string
	for _, p := range Peers() {
		out = append(out, p.Name+" ("+p.What+")")
	}
	return strings.Join(out, ", ")
}

// LookupPeer finds a peer suite by name.
func LookupPeer(name string) (PeerSuite, bool) {
	i := slices.IndexFunc(Peers(), func(p PeerSuite) bool { return p.Name == name })
	if i < 0 {
		return PeerSuite{}, false
	}
	return Peers()[i], true
}

// PeerOf returns the peer suite a case belongs to, if any.
func PeerOf(id string) (PeerSuite, bool) {
	for _, p := range Peers() {
		if strings.HasPrefix(id, p.Prefix()) {
			return p, true
		}
	}
	return PeerSuite{}, false
}

// Prefix starts the IDs of the suite's cases.
func (p PeerSuite) Prefix() string { return "peer/" + p.Name + "/" }

// Pattern selects the suite's cases.
func (p PeerSuite) Pattern() string { return p.Prefix() + "*" }

// PeerRoot is where the host puts the peer suites' files in the guest.
const PeerRoot = "/peer"

func peerCases() []*Case {
	var cs []*Case
	for _, p := range Peers() {
		cs = append(cs, p.Cases()...)
	}
	return cs
}
