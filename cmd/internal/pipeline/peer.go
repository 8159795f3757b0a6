package pipeline

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/patchtest/patchtest/kernels"
	"github.com/patchtest/patchtest/kernels/selftest"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/initramfs"
	"github.com/patchtest/patchtest/vm/setup"
)

// selectedPeers are the peer suites o.Peer names, in its order; peerSelect
// has checked the names.
func selectedPeers(o Options) []suites.PeerSuite {
	var out []suites.PeerSuite
	for _, name := range o.Peer {
		if p, ok := suites.LookupPeer(name); ok {
			out = append(out, p)
		}
	}
	return out
}

// countedPeers reports whether a selected peer suite runs in guests that
// count instructions.
func countedPeers(o Options) bool {
	return slices.ContainsFunc(selectedPeers(o), func(p suites.PeerSuite) bool { return p.Counted })
}

// selftestPeers reports whether a selected peer suite runs the kernel's
// selftests.
func selftestPeers(o Options) bool {
	return slices.ContainsFunc(selectedPeers(o), func(p suites.PeerSuite) bool { return p.Selftests })
}

// peerSelect checks o.Peer's names and adds their cases to the selection:
// with no --suite, the whole catalogue and the peers; else the given
// patterns and the peers.
func peerSelect(o *Options) error {
	if len(o.Peer) == 0 {
		return nil
	}
	var pats []string
	for _, name := range o.Peer {
		p, ok := suites.LookupPeer(name)
		if !ok {
			return &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("peer suite %q (--peer, peer.suites)", name),
				Err: fmt.Errorf("no such peer suite: give a comma-separated list of %s", strings.Join(suites.PeerNames(), ", "))}
		}
		pats = append(pats, p.Pattern())
	}
	if len(o.Patterns) == 0 {
		seen := map[string]bool{}
		cases, _ := suites.Catalogue().Select()
		for _, c := range cases {
			if s := c.Suite(); !seen[s] {
				seen[s] = true
				o.Patterns = append(o.Patterns, s+"/*")
			}
		}
	}
	for _, p := range pats {
		if !slices.Contains(o.Patterns, p) {
			o.Patterns = append(o.Patterns, p)
		}
	}
	return nil
}

// peerNeeds are the host packages the selected peers need.
func peerNeeds(o Options) (programs, libraries []setup.Need) {
	for _, p := range selectedPeers(o) {
		for _, h := range p.Host {
			n := setup.Need{Program: h.Program, Package: h.Package, Why: h.Why}
			if h.Library {
				libraries = append(libraries, n)
			} else {
				programs = append(programs, n)
			}
		}
	}
	return programs, libraries
}

// peerSourceCheck says, before anything is built, where the kselftests
// will be built from, or that no source tree is known for a given kernel
// image, naming what to point at.
func peerSourceCheck(o Options) error {
	if !selftestPeers(o) || o.PeerSource != "" || o.Candidate.Built() {
		if o.PeerSource != "" {
			if err := selftest.CheckSource(o.PeerSource); err != nil {
				return &vm.Error{Outcome: vm.BadInput, Msg: "--peer-source " + o.PeerSource, Err: err}
			}
		}
		return nil
	}
	if _, _, ok := kernels.TreeOf(o.Candidate.Path); ok {
		return nil
	}
	return &vm.Error{Outcome: vm.BadInput, Msg: "--peer kselftest",
		Err: fmt.Errorf("the candidate kernel %s comes with no source tree to build the selftests from: give --peer-source DIR, the kernel tree it was built from", o.Candidate.Path)}
}

// preparePeers builds what the selected peers run in the guest and puts
// it into o.Boot, the template of every boot: the kselftests built from
// the candidate's own source tree (its series applied), the same
// binaries for both kernels, and the host's stress-ng.
func preparePeers(ctx context.Context, o *Options, emit func(results.Event)) error {
	notice := func(msg string) { emit(results.Event{Kind: results.EventNotice, Msg: msg}) }
	for _, p := range selectedPeers(*o) {
		for _, prog := range p.Copy {
			path, err := exec.LookPath(prog)
			if err != nil {
				return &vm.Error{Outcome: vm.Infrastructure, Msg: "--peer " + p.Name, Err: fmt.Errorf("no %s on this host: %s", prog, installHint(p, prog))}
			}
			if path, err = filepath.EvalSymlinks(path); err == nil {
				o.Boot.Programs = append(slices.Clone(o.Boot.Programs), path)
			}
		}
	}
	if !selftestPeers(*o) {
		return nil
	}
	var built *selftest.Built
	build := func(src string) error {
		notice("peer: building the kselftests (splice, mm/cow, net/tls) from " + src)
		var err error
		built, err = selftest.Build(ctx, selftest.Request{Source: src, CacheDir: o.CacheDir})
		return err
	}
	var err error
	switch {
	case o.PeerSource != "":
		err = build(o.PeerSource)
	case o.Candidate.Built():
		b := &kernels.Builder{CacheDir: o.CacheDir, Progress: func(msg string) {
			emit(results.Event{Kind: results.EventBuild, Side: runs.Candidate, Msg: msg})
		}}
		err = b.WithTree(ctx, buildRequest(describeSpec(o.Candidate)), selftest.Reads, build)
	default:
		tree, _, _ := kernels.TreeOf(o.Candidate.Path)
		err = build(tree)
	}
	if err != nil {
		if ctx.Err() != nil {
			return &vm.Error{Outcome: vm.Interrupted, Msg: "run interrupted", Err: context.Cause(ctx)}
		}
		return &vm.Error{Outcome: vm.Infrastructure, Msg: "peer kselftests", Err: err}
	}
	how := "built"
	if built.Cached {
		how = "cached"
	}
	msg := fmt.Sprintf("peer: kselftests %s (%s)", how, built.Dir)
	var failed []string
	for n, why := range built.Manifest.Failed {
		failed = append(failed, n+": "+why)
	}
	slices.Sort(failed)
	if len(failed) > 0 {
		msg += "; they skip: " + strings.Join(failed, "; ")
	}
	notice(msg)
	o.Boot.Trees = append(slices.Clone(o.Boot.Trees), initramfs.Tree{Host: built.Dir, Guest: suites.KselftestRoot})
	return nil
}

// installHint says how to install a peer suite's host program.
func installHint(p suites.PeerSuite, prog string) string {
	for _, h := range p.Host {
		if h.Program == prog {
			return "apt-get install " + h.Package
		}
	}
	return "install it"
}
