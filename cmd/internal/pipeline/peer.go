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
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/initramfs"
	"github.com/patchtest/patchtest/vm/setup"
)

// Host needs of the peer suites.
var (
	stressNGNeed = setup.Need{Program: "stress-ng", Package: "stress-ng", Why: "for the stress-ng peer suite"}
	libcNeed     = setup.Need{Program: "libc.a", Package: "libc6-dev", Why: "to build the kselftests statically"}
	gccNeed      = setup.Need{Program: "gcc", Package: "gcc", Why: "to build the kselftests"}
)

// peerSelect checks o.Peer's names and adds their cases to the selection:
// with no --suite, the whole catalogue and the peers; else the given
// patterns and the peers.
func peerSelect(o *Options) error {
	if len(o.Peer) == 0 {
		return nil
	}
	var pats []string
	for _, p := range o.Peer {
		if !slices.Contains(suites.PeerSuites, p) {
			return &vm.Error{Outcome: vm.BadInput, Msg: fmt.Sprintf("peer suite %q (--peer, peer.suites)", p),
				Err: fmt.Errorf("no such peer suite: give a comma-separated list of %s", strings.Join(suites.PeerSuites, ", "))}
		}
		pats = append(pats, suites.PeerPattern(p))
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
	if slices.Contains(o.Peer, "stress-ng") {
		programs = append(programs, stressNGNeed)
	}
	if slices.Contains(o.Peer, "kselftest") {
		programs = append(programs, gccNeed)
		libraries = append(libraries, libcNeed)
	}
	return programs, libraries
}

// peerSourceCheck says, before anything is built, where the kselftests
// will be built from, or that no source tree is known for a given kernel
// image, naming what to point at.
func peerSourceCheck(o Options) error {
	if !slices.Contains(o.Peer, "kselftest") || o.PeerSource != "" || o.Candidate.Built() {
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
	if slices.Contains(o.Peer, "stress-ng") {
		p, err := exec.LookPath("stress-ng")
		if err != nil {
			return &vm.Error{Outcome: vm.Infrastructure, Msg: "--peer stress-ng", Err: fmt.Errorf("no stress-ng on this host: apt-get install stress-ng")}
		}
		if p, err = filepath.EvalSymlinks(p); err == nil {
			o.Boot.Programs = append(slices.Clone(o.Boot.Programs), p)
		}
	}
	if !slices.Contains(o.Peer, "kselftest") {
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
			emit(results.Event{Kind: results.EventBuild, Side: results.Candidate, Msg: msg})
		}}
		err = b.WithTree(ctx, buildRequest(o.Candidate), selftest.Reads, build)
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
