//go:build ignore

// testsummary reads `go test -json` on standard input and prints what a
// person reads of a test run: each package's result line, the whole
// output of every failed test, every skipped test with its reason, and
// the closing line "N passed, N failed, N skipped". It exits 1 when a
// test failed, a package failed to build, or a test skipped whose name
// no line of the allowed file (its first argument) matches: a test CI
// should run that did not run is a failure of CI.
//
//	go test -json ./... | go run .ci/testsummary.go .ci/allowed-skips
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type allowed struct {
	re  *regexp.Regexp
	why string
}

func main() {
	var allow []allowed
	if len(os.Args) > 1 {
		b, err := os.ReadFile(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "testsummary:", err)
			os.Exit(2)
		}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			pat, why, _ := strings.Cut(l, " ")
			re, err := regexp.Compile("^(" + pat + ")$")
			if err != nil {
				fmt.Fprintf(os.Stderr, "testsummary: %s: %v\n", os.Args[1], err)
				os.Exit(2)
			}
			allow = append(allow, allowed{re, strings.TrimSpace(why)})
		}
	}
	out := map[string]*strings.Builder{} // package/test -> output
	var passed, failed, skipped int
	var failures, skips, unexpected []string
	buildFailed := false
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// go test prints build errors as plain text.
			fmt.Println(sc.Text())
			buildFailed = buildFailed || strings.Contains(sc.Text(), "[build failed]") || strings.HasPrefix(sc.Text(), "FAIL")
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if out[key] == nil {
				out[key] = &strings.Builder{}
			}
			out[key].WriteString(e.Output)
			if e.Test == "" && (strings.HasPrefix(e.Output, "ok ") || strings.HasPrefix(e.Output, "FAIL") || strings.HasPrefix(e.Output, "?")) {
				fmt.Print(e.Output)
			}
		case "pass":
			if e.Test != "" {
				passed++
			}
		case "fail":
			if e.Test == "" {
				if out[key] != nil && !strings.Contains(out[key].String(), "--- FAIL") {
					fmt.Print(out[key].String()) // a package that failed outside any test
				}
				continue
			}
			failed++
			failures = append(failures, key)
			if b := out[key]; b != nil {
				fmt.Printf("--- FAIL: %s (%s)\n%s", e.Test, e.Package, b.String())
			}
		case "skip":
			if e.Test == "" {
				continue
			}
			skipped++
			why := skipReason(out[key])
			skips = append(skips, fmt.Sprintf("%s %s: %s", e.Package, e.Test, why))
			ok := false
			for _, a := range allow {
				ok = ok || a.re.MatchString(e.Test)
			}
			if !ok {
				unexpected = append(unexpected, fmt.Sprintf("%s %s: %s", e.Package, e.Test, why))
			}
		}
	}
	sort.Strings(skips)
	if len(skips) > 0 {
		fmt.Printf("skipped (%d):\n", len(skips))
		for _, s := range skips {
			fmt.Println("  " + s)
		}
	}
	if len(unexpected) > 0 {
		fmt.Printf("skipped, but CI must run them (%d; .ci/allowed-skips lists the skips that may be):\n", len(unexpected))
		for _, s := range unexpected {
			fmt.Println("  " + s)
		}
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || buildFailed || len(unexpected) > 0 {
		os.Exit(1)
	}
}

// skipReason is the last line a skipped test logged before its skip.
func skipReason(b *strings.Builder) string {
	if b == nil {
		return "(no reason given)"
	}
	var last string
	for _, l := range strings.Split(b.String(), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- SKIP") {
			last = l
		}
	}
	if last == "" {
		return "(no reason given)"
	}
	return last
}
