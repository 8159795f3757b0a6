package remote

import (
	"github.com/patchtest/patchtest/suites/runs"
	"github.com/patchtest/patchtest/vm"
)

// Describe is the run model's description of a booted machine.
func Describe(info vm.Info) runs.Machine {
	m := runs.Machine{
		Kernel:      runs.Image{Path: info.Kernel.Path, Version: info.Kernel.Version, Protocol: info.Kernel.Protocol},
		QEMU:        runs.QEMU{Path: info.QEMU.Path, Version: info.QEMU.Version},
		Accel:       string(info.Accel),
		Clock:       info.Clock,
		AccelNote:   info.AccelNote,
		MachineType: info.MachineType,
		CPUModel:    info.CPUModel,
		CPUs:        info.CPUs,
		MemoryMiB:   info.MemoryMiB,
		Cmdline:     info.Cmdline,
		ConsoleLog:  info.ConsoleLog,
		Agent: runs.Agent{
			Version:  info.Agent.Version,
			BuildID:  info.Agent.BuildID,
			Release:  info.Agent.Release,
			Machine:  info.Agent.Machine,
			UptimeNS: info.Agent.UptimeNS,
			InitNS:   info.Agent.InitNS,
			Modules:  info.Agent.Modules,
			Warnings: info.Agent.Warnings,
		},
		Prepare: info.Prepare,
		Ready:   info.Ready,
	}
	for _, p := range info.Agent.Phases {
		m.Agent.Phases = append(m.Agent.Phases, runs.Phase{Name: p.Name, NS: p.NS})
	}
	return m
}
