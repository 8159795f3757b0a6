package vm

import (
	"time"

	"github.com/patchtest/patchtest/vm/console"
)

// historyLines is how many console lines a machine keeps in memory for
// evidence (the whole console is in its log file).
const historyLines = 2000

// ConsoleMark returns the number of console lines seen so far; lines and
// reports after a mark are what happened since.
func (m *Machine) ConsoleMark() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lineNo
}

// ConsoleSince returns the console lines after mark that are still held
// in memory, at most max (the last ones).
func (m *Machine) ConsoleSince(mark, max int) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.lineNo - mark
	n = min(n, len(m.history), max)
	if n <= 0 {
		return nil
	}
	return append([]string(nil), m.history[len(m.history)-n:]...)
}

// ReportsSince returns the kernel reports whose first line came after
// mark.
func (m *Machine) ReportsSince(mark int) []console.Report {
	var out []console.Report
	for _, r := range m.Reports() {
		if r.Line > mark {
			out = append(out, r)
		}
	}
	return out
}

// remember keeps line in the history; m.mu is held.
func (m *Machine) remember(line string) {
	m.lineNo++
	if len(m.history) == historyLines {
		m.history = append(m.history[:0], m.history[historyLines/2:]...)
	}
	m.history = append(m.history, line)
}

// Settle waits until the console has been quiet for quiet, or until d has
// passed, so that a report being printed is complete.
func (m *Machine) Settle(quiet, d time.Duration) {
	deadline := time.Now().Add(d)
	last := m.ConsoleMark()
	for time.Now().Before(deadline) {
		time.Sleep(quiet)
		now := m.ConsoleMark()
		if now == last {
			return
		}
		last = now
	}
}
