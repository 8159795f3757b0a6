package suites

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/patchtest/patchtest/suites/fixture"
)

// T is a case's view of its isolated environment: its own temporary
// directory, the descriptors it opened (closed when it ends), and its
// invariant checks.
type T struct {
	dir      string
	mu       sync.Mutex
	fds      []int
	cleanups []func()
	failures []string
	subs     []SubResult
	dropped  int
	metrics  map[string]float64
	hung     string
}

func newT() (*T, error) {
	dir, err := os.MkdirTemp("", "case-")
	if err != nil {
		return nil, err
	}
	return &T{dir: dir}, nil
}

// Dir is the case's temporary directory.
func (t *T) Dir() string { return t.dir }

// Check records an invariant violation unless ok.
func (t *T) Check(ok bool, format string, a ...any) {
	if !ok {
		t.mu.Lock()
		t.failures = append(t.failures, fmt.Sprintf(format, a...))
		t.mu.Unlock()
	}
}

// Sub records the result of one subtest of a case that runs a program
// with subtests of its own (a peer suite): the host records it as the case
// ID/name. Subtests recorded before the case hangs are kept.
func (t *T) Sub(s SubResult) {
	t.mu.Lock()
	if len(t.subs) < MaxSubs {
		t.subs = append(t.subs, s)
	} else {
		t.dropped++
	}
	t.mu.Unlock()
}

// MaxSubs bounds the subtests one case records: a program that reports
// more (a flood of results) has the rest counted, not kept.
const MaxSubs = 2000

// Metric records a figure the case measured (a peer stressor's rate).
func (t *T) Metric(name string, v float64) {
	t.mu.Lock()
	if t.metrics == nil {
		t.metrics = map[string]float64{}
	}
	t.metrics[name] = v
	t.mu.Unlock()
}

// Hang ends the case as hung, for a case that bounds and kills what it
// runs itself: why says where it stopped.
func (t *T) Hang(why string) {
	t.mu.Lock()
	t.hung = why
	t.mu.Unlock()
}

// Cleanup runs f when the case ends, before its descriptors are closed.
func (t *T) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

// Track closes fd when the case ends.
func (t *T) Track(fd int) int {
	t.mu.Lock()
	t.fds = append(t.fds, fd)
	t.mu.Unlock()
	return fd
}

// Close closes fd now (and not again at the end).
func (t *T) Close(fd int) {
	t.mu.Lock()
	for i, f := range t.fds {
		if f == fd {
			t.fds = append(t.fds[:i], t.fds[i+1:]...)
			break
		}
	}
	t.mu.Unlock()
	unix.Close(fd)
}

// end closes everything; closing both ends of pipes and sockets also
// wakes any helper still blocked on them.
func (t *T) end() {
	t.mu.Lock()
	cleanups, fds := t.cleanups, t.fds
	t.cleanups, t.fds = nil, nil
	t.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	os.RemoveAll(t.dir)
}

// Pipe returns a new pipe's read and write ends, with extra pipe2 flags.
func (t *T) Pipe(flags int) (r, w int) {
	r, w, err := fixture.Pipe(flags, t.Track)
	if err != nil {
		panic(fatal{err})
	}
	return r, w
}

// File creates a file in the case's directory holding data, opens it
// with flags and returns its path and descriptor.
func (t *T) File(name string, data []byte, flags int) (string, int) {
	p := filepath.Join(t.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		panic(fatal{err})
	}
	fd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		panic(fatal{fmt.Errorf("open %s: %w", p, err)})
	}
	return p, t.Track(fd)
}

// SocketPair returns a connected AF_UNIX pair of type typ.
func (t *T) SocketPair(typ int) (a, b int) {
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		panic(fatal{fmt.Errorf("socketpair: %w", err)})
	}
	return t.Track(fds[0]), t.Track(fds[1])
}

// TCPPair returns a connected loopback TCP pair (client, server).
func (t *T) TCPPair() (client, server int) {
	c, srv, err := fixture.TCPPair(t.Track)
	if err != nil {
		panic(fatal{err})
	}
	return c, srv
}

// UDPPair returns a loopback UDP receiver bound to a port of its own
// and a sender connected to it.
func (t *T) UDPPair() (receiver, sender int) {
	receiver = t.Track(udpSocket())
	Must(unix.Bind(receiver, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := unix.Getsockname(receiver)
	Must(err)
	sender = t.Track(udpSocket())
	Must(unix.Connect(sender, sa))
	return receiver, sender
}

// fatal carries a setup failure out of a case: the case could not run,
// which is not an observation of the kernel's behaviour under test.
type fatal struct{ err error }

// Must panics with a setup failure unless err is nil.
func Must(err error) {
	if err != nil {
		panic(fatal{err})
	}
}

// Poison fills b with a pattern no case writes, so that bytes a read did
// not fill are recognisable.
func Poison(b []byte) {
	for i := range b {
		b[i] = 0xA5
	}
}

// Pattern returns n bytes of a position-dependent pattern seeded by seed,
// so that misplaced data is detected as well as missing data.
func Pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i>>8) ^ seed
	}
	return b
}

// Mmap returns n bytes of fresh anonymous memory, page aligned and out
// of the Go heap, unmapped when the case ends.
func (t *T) Mmap(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		panic(fatal{fmt.Errorf("mmap: %w", err)})
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}
