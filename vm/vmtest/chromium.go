package vmtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/patchtest/patchtest/vm/setup"
)

// Browser is headless Chromium, for tests that check what a user sees in
// a page: the DOM a browser builds from it, or a screenshot.
type Browser struct {
	path    string
	profile string
}

// Chromium returns the headless browser, installed on demand. Its absence
// fails the test: .ci/run installs it (apt-get install chromium), and a
// check that skips where it cannot run proves nothing there.
func Chromium(t testing.TB) *Browser {
	t.Helper()
	b := &Browser{profile: filepath.Join(t.TempDir(), "profile")}
	for _, name := range []string{"chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			b.path = p
			return b
		}
	}
	p, err := setup.Program(context.Background(), setup.Need{Program: "chromium", Package: "chromium", Why: "to render patchtest's pages"}, false, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	b.path = p
	return b
}

// Load loads url in a 1400-pixel-wide window and returns what Chromium
// prints with args (--dump-dom: the DOM after parsing and layout;
// --screenshot=FILE: nothing, the picture in FILE).
func (b *Browser) Load(t testing.TB, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir=" + b.profile, "--window-size=1400,6000"}
	cmd := exec.CommandContext(ctx, b.path, append(append(base, args...), url)...)
	cmd.Dir = filepath.Dir(b.profile)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v %s: %v", b.path, args, url, err)
	}
	return out
}
