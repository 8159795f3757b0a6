package kernels

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Patch is one patch of a series.
type Patch struct {
	// Name is the file it came from, or "mbox message N".
	Name    string
	Subject string
	// Data is the whole patch as git am and patch read it.
	Data []byte
	// Files are the paths the patch touches, relative to the tree.
	Files []string
}

// Series is an ordered patch series.
type Series struct {
	// Path is where it was read from.
	Path    string
	Patches []Patch
}

// Hash identifies the series by its contents.
func (s Series) Hash() string {
	h := sha256.New()
	for _, p := range s.Patches {
		fmt.Fprintf(h, "%d\n", len(p.Data))
		h.Write(p.Data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Files lists every path the series touches, once.
func (s Series) Files() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range s.Patches {
		for _, f := range p.Files {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out
}

// mboxFrom starts a message in an mbox as git format-patch, b4 and mail
// clients write it.
var mboxFrom = regexp.MustCompile(`^From (\S+ +)?\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}`)

// LoadSeries reads a patch series from a directory of .patch/.diff files
// (applied in name order) or from an mbox file holding one message per
// patch. Cover letters (messages without a diff whose subject says 0/N)
// are skipped; any other message without a diff is an error.
func LoadSeries(path string) (Series, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Series{}, fmt.Errorf("patch series %s: %w", path, err)
	}
	s := Series{Path: path}
	var raw []Patch
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return Series{}, fmt.Errorf("patch series %s: %w", path, err)
		}
		for _, e := range ents {
			if e.IsDir() || !(strings.HasSuffix(e.Name(), ".patch") || strings.HasSuffix(e.Name(), ".diff")) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(path, e.Name()))
			if err != nil {
				return Series{}, fmt.Errorf("patch series: %w", err)
			}
			raw = append(raw, Patch{Name: e.Name(), Data: b})
		}
		if len(raw) == 0 {
			return Series{}, fmt.Errorf("patch series %s: no .patch or .diff files in the directory", path)
		}
	} else {
		b, err := os.ReadFile(path)
		if err != nil {
			return Series{}, fmt.Errorf("patch series: %w", err)
		}
		for i, m := range splitMbox(b) {
			raw = append(raw, Patch{Name: fmt.Sprintf("%s message %d", filepath.Base(path), i+1), Data: m})
		}
		if len(raw) == 0 {
			return Series{}, fmt.Errorf("patch series %s: empty file", path)
		}
	}
	for _, p := range raw {
		p.Subject = subject(p.Data)
		p.Files = touchedFiles(p.Data)
		if len(p.Files) == 0 {
			if isCoverLetter(p.Subject) {
				continue
			}
			return Series{}, fmt.Errorf("patch series %s: %s (%q) holds no diff; is it a patch?", path, p.Name, p.Subject)
		}
		if err := checkHunks(p.Data); err != nil {
			return Series{}, fmt.Errorf("patch series %s: %s (%q) is malformed: %v", path, p.Name, p.Subject, err)
		}
		s.Patches = append(s.Patches, p)
	}
	if len(s.Patches) == 0 {
		return Series{}, fmt.Errorf("patch series %s: no patches, only a cover letter", path)
	}
	return s, nil
}

// splitMbox cuts an mbox into messages; a file that does not start with a
// From line is one message.
func splitMbox(b []byte) [][]byte {
	var (
		msgs [][]byte
		cur  []byte
	)
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if mboxFrom.Match(line) && len(bytes.TrimSpace(cur)) > 0 {
			msgs = append(msgs, cur)
			cur = nil
		}
		cur = append(cur, line...)
	}
	if len(bytes.TrimSpace(cur)) > 0 {
		msgs = append(msgs, cur)
	}
	return msgs
}

var coverRe = regexp.MustCompile(`\b0+/\d+\]`)

func isCoverLetter(subject string) bool { return coverRe.MatchString(subject) }

// subject returns the Subject header, unfolded.
func subject(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var subj string
	in := false
	for sc.Scan() {
		l := sc.Text()
		if l == "" {
			break // end of headers
		}
		switch {
		case strings.HasPrefix(l, "Subject:"):
			subj, in = strings.TrimSpace(strings.TrimPrefix(l, "Subject:")), true
		case in && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")):
			subj += " " + strings.TrimSpace(l)
		default:
			in = false
		}
	}
	return subj
}

// touchedFiles lists the files a unified diff changes (from its +++ lines,
// or --- lines for deletions), without the a/ b/ prefix.
func touchedFiles(b []byte) []string {
	var files []string
	seen := map[string]bool{}
	add := func(p string) {
		if p == "/dev/null" || p == "" {
			return
		}
		if i := strings.IndexByte(p, '/'); i >= 0 {
			p = p[i+1:] // strip a/ or b/ (-p1)
		}
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		if strings.HasPrefix(lines[i], "--- ") && strings.HasPrefix(lines[i+1], "+++ ") {
			oldPath := diffPath(lines[i][4:])
			newPath := diffPath(lines[i+1][4:])
			if newPath == "/dev/null" {
				add(oldPath)
			} else {
				add(newPath)
			}
		}
	}
	return files
}

func diffPath(s string) string {
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

var hunkRe = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@`)

// checkHunks verifies that every hunk holds as many lines as its header
// says, the damage mail clients most often do (wrapped or stripped lines).
func checkHunks(b []byte) error {
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		m := hunkRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		oldN, newN := count(m[2]), count(m[4])
		j := i + 1
		for ; j < len(lines) && (oldN > 0 || newN > 0); j++ {
			l := lines[j]
			switch {
			case strings.HasPrefix(l, " "), l == "":
				oldN--
				newN--
			case strings.HasPrefix(l, "-"):
				oldN--
			case strings.HasPrefix(l, "+"):
				newN--
			case strings.HasPrefix(l, `\`): // "\ No newline at end of file"
			default:
				return fmt.Errorf("hunk %q at line %d ends early at line %d: %q", lines[i], i+1, j+1, l)
			}
		}
		if oldN != 0 || newN != 0 {
			return fmt.Errorf("hunk %q at line %d does not match its line counts (mangled by a mail client?)", lines[i], i+1)
		}
		i = j - 1
	}
	return nil
}

func count(s string) int {
	if s == "" {
		return 1
	}
	n := 0
	fmt.Sscan(s, &n)
	return n
}
