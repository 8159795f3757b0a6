package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/suites"
	"github.com/patchtest/patchtest/vm"
)

func TestPeerSelect(t *testing.T) {
	o := Options{Peer: []string{"kselftest", "stress-ng"}}
	if err := peerSelect(&o); err != nil {
		t.Fatal(err)
	}
	cases, err := suites.Catalogue().Select(o.Patterns...)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := suites.Catalogue().Select()
	peers := 0
	for _, c := range cases {
		if c.Suite() == "peer" {
			peers++
		}
	}
	if len(cases) != len(all)+peers || peers != 3+len(suites.StressNGStressors) {
		t.Errorf("%d cases (%d peer), want the %d of the catalogue and 8 peer", len(cases), peers, len(all))
	}
	o = Options{Peer: []string{"stress-ng"}, Patterns: []string{"vmsplice/alias/*"}}
	peerSelect(&o)
	if !slices.Equal(o.Patterns, []string{"vmsplice/alias/*", "peer/stress-ng/*"}) {
		t.Errorf("patterns %v", o.Patterns)
	}
	o = Options{Peer: []string{"ltp"}}
	err = peerSelect(&o)
	if vm.OutcomeOf(err) != vm.BadInput || !strings.Contains(err.Error(), `peer suite "ltp"`) {
		t.Errorf("an unknown peer suite: %v", err)
	}
}

func TestPeerSourceCheck(t *testing.T) {
	o := Options{Peer: []string{"kselftest"}, Candidate: configs.KernelSpec{Path: "/boot/vmlinuz-nowhere"}}
	err := peerSourceCheck(o)
	if vm.OutcomeOf(err) != vm.BadInput || !strings.Contains(err.Error(), "--peer-source DIR") {
		t.Errorf("a bzImage without a tree: %v", err)
	}
	o.PeerSource = t.TempDir()
	if err := peerSourceCheck(o); vm.OutcomeOf(err) != vm.BadInput || !strings.Contains(err.Error(), "--peer-source") {
		t.Errorf("a --peer-source that is no kernel tree: %v", err)
	}
	if err := peerSourceCheck(Options{Peer: []string{"stress-ng"}, Candidate: o.Candidate}); err != nil {
		t.Errorf("stress-ng needs no tree: %v", err)
	}
	if err := peerSourceCheck(Options{Peer: []string{"kselftest"}}); err != nil {
		t.Errorf("a built candidate has its tree: %v", err)
	}
}

// peer: in the configuration, its source relative to the file, and the
// flags overriding it.
func TestConfigurePeer(t *testing.T) {
	cfg, err := configs.LoadRun("run.yaml", []byte("peer:\n  suites: [stress-ng]\n  source: linux\n"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := Configure(cfg, "/conf", vm.BootOptions{}, Flags{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Peer, []string{"stress-ng"}) || o.PeerSource != "/conf/linux" {
		t.Errorf("from the file: peer %v, source %q", o.Peer, o.PeerSource)
	}
	src := "/src/linux"
	o, err = Configure(cfg, "/conf", vm.BootOptions{}, Flags{Peer: []string{"kselftest", "stress-ng"}, PeerSource: &src})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(o.Peer, []string{"kselftest", "stress-ng"}) || o.PeerSource != src {
		t.Errorf("with flags: peer %v, source %q", o.Peer, o.PeerSource)
	}
	if _, err := configs.LoadRun("run.yaml", []byte("peer:\n  suits: [kselftest]\n")); err == nil {
		t.Error("a misspelt peer key is accepted")
	}
}
