// Package proto is the small contract shared by the host and the guest agent:
// the names of the paths in the initramfs, the SSH request types the agent
// understands and the messages they carry, and the commands the host runs
// in the guest (Init and its subcommands). Two streams those commands write
// cross the boundary too and are defined beside their writers, each with a
// version: the suites' result stream (suites.StreamRecord, with
// suites.StreamVersion) and the perf requests and samples (perf.Request,
// perf.Sample). Nothing else does.
package proto

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"strings"
)

// Version is the protocol version. The host refuses an agent that speaks
// another one: the guest binary and the host must come from the same tree.
const Version = 1

// Paths inside the initramfs.
const (
	// HostKeyPath holds the guest's per-boot SSH host key (PEM, OpenSSH format).
	HostKeyPath = "/etc/patchtest/ssh_host_key"
	// AuthorizedKeyPath holds the one client key the agent accepts
	// (authorized_keys format).
	AuthorizedKeyPath = "/etc/patchtest/authorized_key"
	// ModulesListPath lists the kernel modules to load, one path per line, in
	// dependency order.
	ModulesListPath = "/etc/patchtest/modules"
	// BuildIDPath holds the Go build ID of /init as the host computed it.
	BuildIDPath = "/etc/patchtest/build_id"
)

// Init is where the guest binary lives in the guest; the host runs it
// again with a subcommand for each job.
const Init = "/init"

// The commands the host runs in the guest.
var (
	// SuitesRun runs the cases named after it and writes the result
	// stream, each start record waiting for the host's line on stdin.
	SuitesRun = []string{Init, "suites", "run", "--ack"}
	// PerfServe answers perf requests on stdin with samples on stdout.
	PerfServe = []string{Init, "perf", "serve"}
	// FuzzServe answers programs on stdin with their traces on stdout.
	FuzzServe = []string{Init, "fuzz", "serve"}
)

// Sysrq is the command that asks the kernel for the magic SysRq actions
// keys (w: blocked tasks, l: backtraces of all CPUs).
// GcovReset zeroes a coverage kernel's counters; GcovDump writes the
// .gcda files of objects (all when none) as a tar stream.
var GcovReset = []string{Init, "gcov", "reset"}

// GcovDump is the command that writes the counters of objects.
func GcovDump(objects ...string) []string { return append([]string{Init, "gcov", "dump"}, objects...) }

func Sysrq(keys string) []string { return []string{Init, "sysrq", keys} }

// PortName is the name of the virtio-serial port that carries the SSH channel.
const PortName = "org.patchtest.agent.0"

// ConsolePrefix starts every line that init writes to the serial console, so
// that the host can tell init's messages from the kernel's.
const ConsolePrefix = "patchtest-init: "

// FatalMarker follows ConsolePrefix on a line that reports why init cannot
// bring the agent up. The host fails the boot at once when it sees it.
const FatalMarker = "FATAL: "

// SSH global request types handled by the agent.
const (
	// RequestHello asks for the agent's Hello; it is the readiness handshake.
	RequestHello = "hello@patchtest"
	// RequestPowerOff asks the guest to sync and power off.
	RequestPowerOff = "poweroff@patchtest"
)

// Hello is the agent's answer to RequestHello.
type Hello struct {
	Version int    `json:"version"`  // protocol version, must equal Version
	BuildID string `json:"build_id"` // Go build ID of the running agent
	Release string `json:"release"`  // uname -r
	Machine string `json:"machine"`  // uname -m
	// UptimeNS is the guest's CLOCK_BOOTTIME when it answered, in ns.
	UptimeNS int64 `json:"uptime_ns"`
	// InitNS is CLOCK_BOOTTIME when init started, in ns.
	InitNS int64 `json:"init_ns"`
	// Modules lists the modules init loaded, and Warnings anything init
	// noticed but could live with (a module that failed to load, say).
	Modules  []string `json:"modules,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Phases are the guest's milestones from init's start to the hello,
	// in order, for boot timing breakdowns.
	Phases []Phase `json:"phases,omitempty"`
}

// Phase is a named moment of the guest's boot, as CLOCK_BOOTTIME in ns.
type Phase struct {
	Name string `json:"name"`
	NS   int64  `json:"ns"`
}

// FormatPhases encodes phases for an environment variable.
func FormatPhases(phases []Phase) string {
	parts := make([]string, len(phases))
	for i, p := range phases {
		parts[i] = fmt.Sprintf("%s=%d", p.Name, p.NS)
	}
	return strings.Join(parts, ",")
}

// ParsePhases decodes FormatPhases' output, skipping malformed entries.
func ParsePhases(s string) []Phase {
	var out []Phase
	for _, part := range strings.Split(s, ",") {
		name, ns, ok := strings.Cut(part, "=")
		var n int64
		if _, err := fmt.Sscan(ns, &n); ok && err == nil && name != "" {
			out = append(out, Phase{Name: name, NS: n})
		}
	}
	return out
}

// Marshal encodes h for the wire.
func (h Hello) Marshal() []byte {
	b, _ := json.Marshal(h) // Hello has no type that fails to marshal
	return b
}

// ParseHello decodes and checks a Hello from the wire.
func ParseHello(b []byte) (Hello, error) {
	var h Hello
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("decode agent hello: %w", err)
	}
	if h.Version != Version {
		return h, fmt.Errorf("agent speaks protocol %d, host speaks %d: rebuild both from one tree", h.Version, Version)
	}
	return h, nil
}

// QuoteArgs joins argv into one string for an SSH "exec" request, quoting
// each word the way a POSIX shell reads it, so that SplitArgs (or /bin/sh -c)
// gets the words back unchanged.
func QuoteArgs(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}

func quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// SplitArgs is the inverse of QuoteArgs for guests without a shell: it splits
// on blanks and honours single quotes, double quotes and backslashes. It does
// no expansion of any kind.
func SplitArgs(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune // 0, '\'' or '"'
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case quote == '"':
			switch {
			case r == '"':
				quote = 0
			case r == '\\' && i+1 < len(rs) && strings.ContainsRune(`"\$`+"`", rs[i+1]):
				i++
				cur.WriteRune(rs[i])
			default:
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == '\\':
			if i+1 == len(rs) {
				return nil, fmt.Errorf("split %q: trailing backslash", s)
			}
			i++
			cur.WriteRune(rs[i])
			in = true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("split %q: unterminated %c quote", s, quote)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// ReadBuildID returns the Go build ID recorded in the ELF note
// .note.go.buildid of the executable at path. The host reads it from the guest
// binary it packs; the agent reads it from /proc/self/exe; the handshake
// compares the two.
func ReadBuildID(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("read build ID of %s: %w", path, err)
	}
	defer f.Close()
	s := f.Section(".note.go.buildid")
	if s == nil {
		return "", fmt.Errorf("read build ID of %s: no .note.go.buildid section (not a Go executable?)", path)
	}
	b, err := s.Data()
	if err != nil {
		return "", fmt.Errorf("read build ID of %s: %w", path, err)
	}
	// An ELF note: namesz, descsz, type, then name and desc padded to 4.
	if len(b) < 12 {
		return "", fmt.Errorf("read build ID of %s: short note", path)
	}
	namesz := f.ByteOrder.Uint32(b[0:4])
	descsz := f.ByteOrder.Uint32(b[4:8])
	off := 12 + (namesz+3)&^3
	if uint64(off)+uint64(descsz) > uint64(len(b)) {
		return "", fmt.Errorf("read build ID of %s: malformed note", path)
	}
	return string(b[off : off+descsz]), nil
}
