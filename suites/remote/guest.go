package remote

import (
	"context"
	"io"
	"time"

	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/console"
)

// guest is what the watchdog uses of a booted machine: *vm.Machine in a
// run, a scripted fake in the watchdog's tests.
type guest interface {
	Info() vm.Info
	Run(ctx context.Context, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error)
	ConsoleMark() int
	ConsoleSince(mark, max int) []string
	Reports() []console.Report
	ReportsSince(mark int) []console.Report
	Settle(quiet, d time.Duration)
	Err() error
	Close() error
}

// bootGuest boots a machine for the watchdog.
func bootGuest(ctx context.Context, o vm.BootOptions) (guest, error) {
	m, err := vm.Boot(ctx, o)
	if err != nil {
		return nil, err
	}
	return m, nil
}
