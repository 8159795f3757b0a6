package agent

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/patchtest/patchtest/guest/proto"
)

// Environment variables through which init hands facts to the agent.
const (
	EnvPort     = "PATCHTEST_PORT"     // device path of the virtio port
	EnvInitNS   = "PATCHTEST_INIT_NS"  // CLOCK_BOOTTIME at init start, in ns
	EnvModules  = "PATCHTEST_MODULES"  // modules init loaded, comma separated
	EnvWarnings = "PATCHTEST_WARNINGS" // init's warnings, newline separated
	EnvPhases   = "PATCHTEST_PHASES"   // init's boot phases, proto.FormatPhases
)

// Guest holds what the agent learns about the guest it runs in.
type Guest struct {
	Port     string
	InitNS   int64
	Modules  []string
	Warnings []string
	Phases   []proto.Phase
	// Uptime returns the time since the guest kernel started, in ns.
	Uptime func() int64
	// PowerOff powers the guest off.
	PowerOff func()
}

// GuestFromEnv reads the facts init handed over in the environment.
func GuestFromEnv() Guest {
	g := Guest{Port: os.Getenv(EnvPort)}
	g.InitNS, _ = strconv.ParseInt(os.Getenv(EnvInitNS), 10, 64)
	if m := os.Getenv(EnvModules); m != "" {
		g.Modules = strings.Split(m, ",")
	}
	g.Phases = proto.ParsePhases(os.Getenv(EnvPhases))
	if w := os.Getenv(EnvWarnings); w != "" {
		g.Warnings = strings.Split(w, "\n")
	}
	return g
}

// Main runs the agent in the guest until the guest powers off or ctx ends.
func Main(ctx context.Context, g Guest) error {
	var mu sync.Mutex
	phases := append(g.Phases, proto.Phase{Name: "agent", NS: g.Uptime()})
	mark := func(name string) {
		mu.Lock()
		phases = append(phases, proto.Phase{Name: name, NS: g.Uptime()})
		mu.Unlock()
	}
	hostKey, err := readSigner(proto.HostKeyPath)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(proto.AuthorizedKeyPath)
	if err != nil {
		return fmt.Errorf("read authorized key: %w", err)
	}
	authorized, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return fmt.Errorf("parse %s: %w", proto.AuthorizedKeyPath, err)
	}
	buildID, err := proto.ReadBuildID("/proc/self/exe")
	if err != nil {
		return err
	}
	release, machine := uname()
	srv, err := NewServer(Config{
		HostKey:       hostKey,
		AuthorizedKey: authorized,
		Hello: func() proto.Hello {
			mu.Lock()
			defer mu.Unlock()
			return proto.Hello{
				Phases:  append(phases[:len(phases):len(phases)], proto.Phase{Name: "hello", NS: g.Uptime()}),
				Version: proto.Version, BuildID: buildID,
				Release: release, Machine: machine,
				UptimeNS: g.Uptime(), InitNS: g.InitNS,
				Modules: g.Modules, Warnings: g.Warnings,
			}
		},
		PowerOff:      g.PowerOff,
		Env:           os.Environ(),
		OnHostConnect: func() { mark("host-connected") },
	})
	if err != nil {
		return err
	}
	port, err := OpenPort(g.Port)
	if err != nil {
		return err
	}
	mark("listening")
	defer port.Close()
	return srv.Serve(ctx, port)
}

func readSigner(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return s, nil
}
