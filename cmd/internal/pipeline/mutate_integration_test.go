package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchtest/patchtest/configs"
	"github.com/patchtest/patchtest/kernels/mutate"
	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/vm"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// Two errno swaps in fs/splice.c's entry points, end to end: each
// mutant is a patch on stock, built in the one source tree and run with
// the catalogue against stock; each gets a verdict (none is the
// harness's), the first (do_splice's -EBADF for an input not open for
// reading, which splice/errors/write-only-input asks) is killed, and
// mutate.json holds them all.
func TestIntegrationMutate(t *testing.T) {
	vmtest.Integration(t)
	cache := vmtest.CacheDir()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	out := t.TempDir()
	res, err := Mutate(ctx, MutateOptions{
		File: "fs/splice.c", Operators: []string{mutate.ErrnoSwap}, Max: 2,
		Run: Options{
			Baseline: configs.KernelSpec{Source: "debian:6.12"},
			Boot:     vm.BootOptions{GuestBinary: vmtest.Guest(t), CacheDir: cache},
			CacheDir: cache,
			Events:   func(e results.Event) { t.Log(e.Msg) },
		},
		OutDir: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Mutants) != 2 {
		t.Fatalf("%d mutants, want 2", len(res.Mutants))
	}
	for _, m := range res.Mutants {
		t.Logf("%s %s %v %s (%v)", m.ID, m.Verdict, m.By, m.Reason, m.Elapsed.Round(time.Second))
		if m.Verdict != Killed && m.Verdict != Survived && m.Verdict != NoBuild {
			t.Errorf("%s: %s %s", m.ID, m.Verdict, m.Reason)
		}
	}
	first := res.Mutants[0]
	if first.Verdict != Killed || len(first.By) == 0 {
		t.Errorf("the first errno swap (%s: %s) was not killed: %s %v", first.ID, first.New, first.Verdict, first.By)
	}
	var back MutateResult
	b, err := os.ReadFile(filepath.Join(res.Dir, "mutate.json"))
	if err != nil || json.Unmarshal(b, &back) != nil || len(back.Mutants) != 2 {
		t.Errorf("mutate.json: %v", err)
	}
}
