package vm

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/patchtest/patchtest/guest/proto"
	"github.com/patchtest/patchtest/vm/initramfs"
)

// ChannelModules are the modules the agent's channel needs; a kernel that
// has them neither built in nor in --modules cannot reach the agent.
var ChannelModules = []string{"virtio_pci", "virtio_console"}

// OptionalModules are loaded when the module tree has them: pvpanic lets
// QEMU see a panic as an event.
var OptionalModules = []string{"pvpanic_mmio", "pvpanic_pci"}

// GuestImage is what goes into a guest's initramfs.
type GuestImage struct {
	// Agent is the guest binary (init and agent): static, or dynamically
	// linked and packed with its loader and libraries.
	Agent string
	// Busybox is a static busybox for the guest's shell and tools; empty
	// leaves it out.
	Busybox string
	// ModulesDir is a /lib/modules/VERSION tree (or a root holding one) to
	// take the channel's modules from; empty when the kernel has them built in.
	ModulesDir string
	// CacheDir holds the built archives.
	CacheDir string
	// Compression of the base archive; initramfs.Default when empty.
	Compression initramfs.Compression
	// Programs are host executables copied in with their libraries.
	Programs []string
	// Trees are host directories copied whole into the guest.
	Trees []initramfs.Tree
}

// Image is a prepared base initramfs.
type Image struct {
	Path         string
	AgentBuildID string
	Modules      []string
	Cached       bool
}

// PrepareImage builds (or finds in the cache) the base initramfs for kernel.
func PrepareImage(kernel KernelImage, g GuestImage) (Image, error) {
	id, err := proto.ReadBuildID(g.Agent)
	if err != nil {
		return Image{}, &Error{Outcome: BadInput, Msg: "guest binary " + g.Agent, Err: err}
	}
	base := initramfs.Base{Init: g.Agent, Busybox: g.Busybox, Programs: g.Programs, Trees: g.Trees}
	if g.ModulesDir != "" {
		tree, err := initramfs.OpenModuleTree(g.ModulesDir, kernel.Release())
		if err != nil {
			return Image{}, &Error{Outcome: BadInput, Msg: "--modules " + g.ModulesDir, Err: err}
		}
		mods, err := tree.Resolve(ChannelModules, OptionalModules)
		if err != nil {
			return Image{}, &Error{Outcome: BadInput, Msg: "--modules " + g.ModulesDir, Err: err}
		}
		base.Modules = mods
	}
	path, cached, err := initramfs.Cached(filepath.Join(g.CacheDir, "initramfs"), base, g.Compression)
	if err != nil {
		return Image{}, &Error{Outcome: Infrastructure, Msg: "build initramfs", Err: err}
	}
	img := Image{Path: path, AgentBuildID: id, Cached: cached}
	for _, m := range base.Modules {
		img.Modules = append(img.Modules, m.Name)
	}
	return img, nil
}

// FindBusybox returns the host's static busybox, or an error that says how
// to install one.
func FindBusybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p, initramfs.CheckStatic(p)
		}
	}
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", errors.New("no busybox found; install it with: apt-get install busybox-static")
	}
	if err := initramfs.CheckStatic(p); err != nil {
		return "", fmt.Errorf("%w", err)
	}
	return p, nil
}
