package results

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// findChromium returns the headless browser, or skips: CI installs it
// (apt-get install chromium).
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium (apt-get install chromium)")
	return ""
}

// The HTML report renders in headless Chromium: the DOM it builds holds
// every chart, and a screenshot shows the charts' colours.
func TestHTMLRendersInChromium(t *testing.T) {
	chromium := findChromium(t)
	dir := t.TempDir()
	r := perfRecord()
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, b, 0o644); err != nil {
		t.Fatal(err)
	}
	browse := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--user-data-dir=" + filepath.Join(dir, "profile"), "--window-size=1400,4000"}
		cmd := exec.CommandContext(ctx, chromium, append(append(base, args...), "file://"+page)...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %v: %v", chromium, args, err)
		}
		return out
	}
	dom := string(browse("--dump-dom"))
	if got, want := strings.Count(dom, "<svg"), 1+len(r.Perf.Run.Benchmarks); got != want {
		t.Errorf("rendered DOM has %d charts, want %d", got, want)
	}
	shot := filepath.Join(dir, "shot.png")
	browse("--screenshot=" + shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The change chart's red bars and the box plots' fills must show.
	found := map[string]bool{}
	want := map[string]color.RGBA{"regression red": colWorse, "baseline blue": colBase, "candidate orange": colNew}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 2 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 2 {
			for name, c := range want {
				if near(img, x, y, c) {
					found[name] = true
				}
			}
		}
	}
	for name := range want {
		if !found[name] {
			t.Errorf("no %s pixels in the screenshot (%v)", name, bounds)
		}
	}
	if t.Failed() {
		keep := filepath.Join(os.TempDir(), "patchtest-report-shot.png")
		os.Rename(shot, keep)
		t.Logf("screenshot kept in %s", keep)
	}
}

func near(img image.Image, x, y int, c color.RGBA) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	d := func(a uint32, b uint8) int { v := int(a>>8) - int(b); return max(v, -v) }
	return d(r, c.R) < 8 && d(g, c.G) < 8 && d(b, c.B) < 8
}
