package results

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/vm/vmtest"
)

// boxScript, added to a copy of the report for the test only (the report
// itself runs no script), records where the browser laid out the change
// chart and the sample charts, as x,y,w,h in CSS pixels.
const boxScript = `<script>
const box = sel => { const r = document.querySelector(sel).getBoundingClientRect(); return [r.left, r.top, r.width, r.height].map(Math.round).join(","); };
document.body.setAttribute("data-summary-box", box("#perf-summary svg"));
document.body.setAttribute("data-charts-box", box("#perf-charts"));
</script>`

// The HTML report renders in headless Chromium: the DOM it builds holds
// every chart, and in the screenshot the change chart's own box shows the
// regression red and the sample charts' box both kernels' colours (text
// elsewhere on the page shares the red, so the whole page proves nothing).
func TestHTMLRendersInChromium(t *testing.T) {
	browser := vmtest.Chromium(t)
	dir := t.TempDir()
	r := perfRecord()
	b, err := r.HTML()
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	b = []byte(strings.Replace(string(b), "</body>", boxScript+"</body>", 1))
	if err := os.WriteFile(page, b, 0o644); err != nil {
		t.Fatal(err)
	}
	browse := func(args ...string) []byte { return browser.Load(t, "file://"+page, args...) }
	dom := string(browse("--dump-dom"))
	if got, want := strings.Count(dom, "<svg"), 1+len(r.Perf.Run.Benchmarks); got != want {
		t.Errorf("rendered DOM has %d charts, want %d", got, want)
	}
	summary, charts := domBox(t, dom, "data-summary-box"), domBox(t, dom, "data-charts-box")
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
	for _, tc := range []struct {
		name string
		box  image.Rectangle
		c    color.RGBA
	}{
		{"regression red in the change chart", summary, colWorse},
		{"baseline blue in the sample charts", charts, colBase},
		{"candidate orange in the sample charts", charts, colNew},
	} {
		box := tc.box.Intersect(img.Bounds())
		if box.Empty() {
			t.Errorf("%s: box %v is not on the %v screenshot", tc.name, tc.box, img.Bounds())
			continue
		}
		if !anyNear(img, box, tc.c) {
			t.Errorf("no %s (box %v)", tc.name, tc.box)
		}
	}
	// Outside the charts nothing is drawn in the samples' blue.
	if above := image.Rect(0, 0, img.Bounds().Dx(), summary.Min.Y); anyNear(img, above, colBase) {
		t.Errorf("baseline blue above the charts (%v): the check would not tell", above)
	}
	if t.Failed() {
		keep := filepath.Join(os.TempDir(), "patchtest-report-shot.png")
		os.Rename(shot, keep)
		t.Logf("screenshot kept in %s", keep)
	}
}

// domBox reads a box the test script recorded in the DOM.
func domBox(t *testing.T, dom, attr string) image.Rectangle {
	t.Helper()
	_, rest, ok := strings.Cut(dom, attr+`="`)
	v, _, _ := strings.Cut(rest, `"`)
	var x, y, w, h int
	if _, err := fmt.Sscanf(v, "%d,%d,%d,%d", &x, &y, &w, &h); !ok || err != nil {
		t.Fatalf("no %s in the rendered DOM (%q)", attr, v)
	}
	return image.Rect(x, y, x+w, y+h)
}

// anyNear reports whether any pixel of box in img is close to c.
func anyNear(img image.Image, box image.Rectangle, c color.RGBA) bool {
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if near(img, x, y, c) {
				return true
			}
		}
	}
	return false
}

func near(img image.Image, x, y int, c color.RGBA) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	d := func(a uint32, b uint8) int { v := int(a>>8) - int(b); return max(v, -v) }
	return d(r, c.R) < 8 && d(g, c.G) < 8 && d(b, c.B) < 8
}
