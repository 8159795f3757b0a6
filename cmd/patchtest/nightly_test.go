package main

import (
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// nightly is a tree followed night after night as a user runs it: the
// patchtest binary in its checkout, no --guest-binary (the guest agent
// is built at run time), every night into one results folder.
type nightly struct {
	t        *testing.T
	repo     string
	out, tmp string
	args     []string
}

// night runs one night with extra flags, wants its exit code and each of
// want in the morning report, and returns the night's record.
func (n nightly) night(wantCode int, extra []string, want ...string) *results.Record {
	n.t.Helper()
	args := append([]string{"nightly", "--source", "git:" + n.repo, "--out", n.out}, n.args...)
	cmd, stdout, stderr := command(n.t, n.tmp, append(args, extra...)...)
	err := cmd.Run()
	n.t.Logf("patchtest %s: exit %d\n%s", strings.Join(extra, " "), exitCode(err), stdout)
	if code := exitCode(err); code != wantCode {
		n.t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantCode, stdout, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stdout.String(), w) {
			n.t.Errorf("the morning report lacks %q:\n%s", w, stdout)
		}
	}
	m := regexp.MustCompile(`patchtest: results in (\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		n.t.Fatalf("no results folder named:\n%s", stderr)
	}
	rec, err := results.LoadRecord(m[1])
	if err != nil {
		n.t.Fatal(err)
	}
	if rec.Night == nil || rec.Night.Morning == nil {
		n.t.Fatalf("%s holds no night", m[1])
	}
	return rec
}

// knownFlaky is the index's known-flaky table as the next night reads it.
func (n nightly) knownFlaky(rec *results.Record) map[string]bool {
	n.t.Helper()
	x, err := results.OpenIndex(n.out)
	if err != nil {
		n.t.Fatal(err)
	}
	defer x.Close()
	_, flaky, err := x.Nights(n.t.Context(), rec.Night.Tree, rec.Night.Branch, rec.Night.Config)
	if err != nil {
		n.t.Fatal(err)
	}
	return flaky
}

// vmspliceCopies commits the vmsplice-wrapper series' first patch
// (vmsplice into a pipe copies) to the repository.
func vmspliceCopies(t *testing.T, git func(...string) string) string {
	t.Helper()
	patch, _ := filepath.Glob(filepath.Join("..", "..", "kernels", "patches", "vmsplice-wrapper", "0001-*.patch"))
	abs, _ := filepath.Abs(patch[0])
	git("am", "-q", abs)
	return git("rev-parse", "HEAD")
}

// docsCommit commits a change that no kernel build reads.
func docsCommit(t *testing.T, repo string, git func(...string) string, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(repo, "Documentation", "patchtest-note.txt"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", "Documentation/patchtest-note.txt")
	git("commit", "-q", "-m", "docs: an unrelated note")
}

// Four nights of a local repository of the Debian source, the whole
// catalogue each night, run as a user runs it: the base; a commit that
// makes vmsplice into a pipe copy (every change it makes NEW, with its
// window, confirmed by the re-runs, exit 1); an unrelated commit (still
// present, first seen the night before, exit 0); the change reverted
// (fixed, exit 0). Nothing is ever called flaky, and the index's history
// of vmsplice/alias/read agrees night by night.
func TestCLINightly(t *testing.T) {
	vmtest.Integration(t)
	repo, git := vmtest.KernelRepo(t)
	n := nightly{t: t, repo: repo, out: t.TempDir(), tmp: t.TempDir()}
	base := git("rev-parse", "HEAD")
	n.night(0, nil, "Nothing new, nothing present, nothing fixed.")

	change := vmspliceCopies(t, git)
	window := base[:12] + ".." + change[:12]
	rec := n.night(1, nil, "vmsplice/alias/read: aliasing:aliased -> aliasing:copied", "window "+window)
	if len(rec.Changes) < 5 || len(rec.Night.Morning.New) != len(rec.Changes) {
		t.Errorf("%d new since last night, %d changes between the two kernels: %v", len(rec.Night.Morning.New), len(rec.Changes), rec.Changes)
	}
	if len(rec.Night.Flaky) > 0 || len(rec.Night.Reruns) != len(rec.Changes) {
		t.Errorf("flaky %v; %d re-runs for %d changes", rec.Night.Flaky, len(rec.Night.Reruns), len(rec.Changes))
	}
	for _, r := range rec.Night.Reruns {
		if r.Verdict != results.RerunConfirmed || len(r.Outcomes) != 3 {
			t.Errorf("re-run of %s: %+v, want confirmed by 3 runs", r.ID, r)
		}
	}
	if !strings.Contains(strings.Join(rec.Night.Morning.Lines(), "\n"), "NEW since last night ("+strconv.Itoa(len(rec.Changes))+")") {
		t.Errorf("morning: %v", rec.Night.Morning.Lines())
	}
	since := rec.ID

	docsCommit(t, repo, git, "unrelated\n")
	rec = n.night(0, nil, "Still present (", "window "+window)
	for _, c := range rec.Night.Morning.Present {
		if c.Since != since || c.Window != window {
			t.Errorf("still present %s: first seen %s in %s, want %s in %s", c.ID, c.Since, c.Window, since, window)
		}
	}

	git("revert", "--no-edit", change)
	fix := git("rev-parse", "HEAD")
	rec = n.night(0, nil, "Fixed tonight (", "window "+git("rev-parse", "HEAD^")[:12]+".."+fix[:12])
	if len(rec.Night.Morning.Fixed) < 5 || len(rec.Night.Morning.Present) > 0 || len(n.knownFlaky(rec)) > 0 {
		t.Errorf("night 4: fixed %d, present %d, known flaky %v", len(rec.Night.Morning.Fixed), len(rec.Night.Morning.Present), n.knownFlaky(rec))
	}

	cmd, stdout, stderr := command(t, n.tmp, "results", "history", "vmsplice/alias/read", "--out", n.out)
	if err := cmd.Run(); err != nil {
		t.Fatalf("history: %v\n%s", err, stderr)
	}
	var outcomes []string
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n")[1:] {
		f := strings.Fields(l)
		outcomes = append(outcomes, f[len(f)-1])
	}
	if got := strings.Join(outcomes, " "); got != "aliasing:aliased aliasing:copied aliasing:copied aliasing:aliased" {
		t.Errorf("history of vmsplice/alias/read: %s\n%s", got, stdout)
	}

	// The same four nights on the dashboard, as a browser shows them.
	browser := vmtest.Chromium(t)
	addr := serveBinary(t, "--index", n.out)
	p := load(t, browser, addr+"/cases/vmsplice/alias/read")
	outcomes = outcomes[:0]
	for _, r := range all(p.one(t, "history table", nil, is("table", "id", "history")), is("td", "class", "outcome")) {
		outcomes = append([]string{text(r)}, outcomes...) // newest first
	}
	if got := strings.Join(outcomes, " "); got != "aliasing:aliased aliasing:copied aliasing:copied aliasing:aliased" {
		t.Errorf("dashboard history of vmsplice/alias/read: %s", got)
	}
	nt := rec.Night
	p = load(t, browser, addr+"/nights/tree?"+url.Values{"tree": {nt.Tree}, "branch": {nt.Branch}, "config": {nt.Config}}.Encode())
	var news, fixed []string
	table := p.one(t, "nights table", nil, is("table", "id", "nights"))
	for _, c := range all(table, is("td", "class", "new")) {
		news = append([]string{text(c)}, news...)
	}
	for _, c := range all(table, is("td", "class", "fixed")) {
		fixed = append([]string{text(c)}, fixed...)
	}
	if len(news) != 4 || !strings.Contains(news[1], "vmsplice/alias/read: aliasing:aliased → aliasing:copied") || news[0] != "" || news[2] != "" || news[3] != "" {
		t.Errorf("dashboard nights, new: %q", news)
	}
	if len(fixed) != 4 || !strings.Contains(fixed[3], "vmsplice/alias/read") || fixed[1] != "" {
		t.Errorf("dashboard nights, fixed: %q", fixed)
	}
}

// A night whose re-runs cannot boot (a QEMU that fails every second boot
// of a kernel) keeps what its first run found: the changes are NEW,
// marked not confirmed with the harness's reason, exit 1; nothing goes
// into the known-flaky table, so the next night, run normally, shows them
// still present. A night with nothing new whose re-runs cannot run (the
// revert's fix to confirm) exits 2.
func TestCLINightlyRerunCannotBoot(t *testing.T) {
	vmtest.Integration(t)
	repo, git := vmtest.KernelRepo(t)
	n := nightly{t: t, repo: repo, out: t.TempDir(), tmp: t.TempDir(), args: []string{"--suite", "vmsplice/alias/*", "--suite", "tee/data/*"}}
	n.night(0, nil, "Nothing new, nothing present, nothing fixed.")

	change := vmspliceCopies(t, git)
	rec := n.night(1, []string{"--qemu", vmtest.OnceQEMU(t)}, "NEW since last night (", "not confirmed: the re-run could not run (",
		"Cannot allocate memory", "HARNESS: the re-run could not run (")
	if len(rec.Night.Morning.New) == 0 || len(rec.Night.Flaky) > 0 || len(rec.Night.Morning.Flaky) > 0 || !rec.Night.Morning.Unconfirmed() {
		t.Errorf("night 2: new %d, flaky %v / %v, not confirmed %q", len(rec.Night.Morning.New), rec.Night.Flaky, rec.Night.Morning.Flaky, rec.Night.Morning.NotConfirmed)
	}
	for _, c := range rec.Night.Morning.New {
		if c.Unconfirmed == "" {
			t.Errorf("%s is not marked not confirmed", c.ID)
		}
	}
	for _, r := range rec.Night.Reruns {
		if r.Verdict != results.RerunNotConfirmed || len(r.Outcomes) != 1 {
			t.Errorf("re-run of %s: %+v, want not confirmed with tonight's outcome alone", r.ID, r)
		}
	}
	if f := n.knownFlaky(rec); len(f) > 0 {
		t.Errorf("the known-flaky table holds %v", f)
	}

	found := len(rec.Night.Morning.New)
	docsCommit(t, repo, git, "unrelated\n")
	rec = n.night(0, nil, "Still present (")
	if len(rec.Night.Morning.Present) != found || len(rec.Night.Morning.Flaky) > 0 {
		t.Errorf("night 3: %d still present of the %d found the night before, known flaky %v", len(rec.Night.Morning.Present), found, rec.Night.Morning.Flaky)
	}

	git("revert", "--no-edit", change)
	rec = n.night(2, []string{"--qemu", vmtest.OnceQEMU(t)}, "Fixed tonight (", "not confirmed: the re-run could not run (")
	if len(rec.Night.Morning.Fixed) == 0 || len(n.knownFlaky(rec)) > 0 {
		t.Errorf("night 4: fixed %d, known flaky %v", len(rec.Night.Morning.Fixed), n.knownFlaky(rec))
	}
}
