// Package configs holds patchtest's built-in configuration: the kernel
// config fragments under kernel/ (guest.config, which every guest kernel
// gets, and optional ones such as debug.config).
package configs

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed kernel/*.config
var kernelFragments embed.FS

// KernelFragment returns the built-in kernel config fragment called name
// (guest, debug…).
func KernelFragment(name string) ([]byte, error) {
	b, err := kernelFragments.ReadFile("kernel/" + name + ".config")
	if err != nil {
		return nil, fmt.Errorf("no built-in config fragment %q (have %s)", name, strings.Join(KernelFragments(), ", "))
	}
	return b, nil
}

// KernelFragments lists the built-in kernel config fragments by name.
func KernelFragments() []string {
	ents, _ := fs.ReadDir(kernelFragments, "kernel")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".config"))
	}
	sort.Strings(names)
	return names
}
