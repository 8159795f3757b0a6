package results

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchtest/patchtest/results/schema"
)

// A run whose configuration names a dashboard links its page there from
// every output a reviewer or a bot reads: patchwork.json's target_url,
// report.md's second line, report.html; without one, none of them has a
// link.
func TestRunLinks(t *testing.T) {
	for _, base := range []string{"https://ci.example.org/patchtest/", ""} {
		r := NewRecord("")
		r.Verdict = &Verdict{}
		r.Baseline.Role, r.Candidate.Role = "baseline", "candidate"
		r.Dashboard = base
		dir := t.TempDir()
		if err := r.Write(dir); err != nil {
			t.Fatal(err)
		}
		want := ""
		if base != "" {
			want = "https://ci.example.org/patchtest/runs/" + r.ID
		}
		if got := r.URL(); got != want {
			t.Errorf("base %q: URL %q, want %q", base, got, want)
		}
		read := func(name string) string {
			b, err := os.ReadFile(filepath.Join(r.Dir, name))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		var checks []PatchworkCheck
		if err := json.Unmarshal([]byte(read("patchwork.json")), &checks); err != nil || len(checks) != 1 {
			t.Fatalf("patchwork.json: %v %v", checks, err)
		}
		if checks[0].TargetURL != want {
			t.Errorf("base %q: target_url %q, want %q", base, checks[0].TargetURL, want)
		}
		md := strings.Split(read("report.md"), "\n")
		if base != "" && md[1] != want {
			t.Errorf("report.md's second line %q, want %q", md[1], want)
		}
		if base == "" && md[1] != "" {
			t.Errorf("report.md without a dashboard: second line %q", md[1])
		}
		html := read("report.html")
		if has := strings.Contains(html, `id="dashboard"`); has != (base != "") || (base != "" && !strings.Contains(html, `href="`+want+`"`)) {
			t.Errorf("base %q: report.html's link: %v", base, has)
		}
		if err := schema.ValidateRun([]byte(read("run.json"))); err != nil {
			t.Errorf("base %q: run.json: %v", base, err)
		}
	}
	r := NewRecord("")
	r.Baseline.Role, r.Candidate.Role = "baseline", "candidate"
	r.Dashboard = "ci.example.org"
	if err := schema.Record(r); err == nil {
		t.Error("a dashboard address without a scheme validates")
	}
}

func TestRunURL(t *testing.T) {
	for _, tc := range []struct{ base, id, want string }{
		{"https://ci.example.org/patchtest/", "20260101T020000Z", "https://ci.example.org/patchtest/runs/20260101T020000Z"},
		{"http://10.0.0.1:8080", "20260101T020000Z-2", "http://10.0.0.1:8080/runs/20260101T020000Z-2"},
		{"", "x", ""},
	} {
		if got := RunURL(tc.base, tc.id); got != tc.want {
			t.Errorf("RunURL(%q, %q) = %q, want %q", tc.base, tc.id, got, tc.want)
		}
	}
}
