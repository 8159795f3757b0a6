package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/patchtest/patchtest/results"
	"github.com/patchtest/patchtest/vm/setup"
	"github.com/patchtest/patchtest/vm/vmtest"
)

// parseCommand checks a patchtest command line as a CI file writes it:
// the subcommand exists and takes every flag given, and a --shard names
// shard I of n.
func parseCommand(t *testing.T, where, line string, n int) {
	t.Helper()
	line = strings.SplitN(line, " || ", 2)[0]
	fields := strings.Fields(line)
	for len(fields) > 0 && fields[0] != "patchtest" && fields[0] != "./cmd/patchtest" {
		fields = fields[1:]
	}
	if len(fields) == 0 {
		t.Fatalf("%s: no patchtest command in %q", where, line)
	}
	args := fields[1:]
	cmd, rest, err := newRoot().Find(args)
	if err != nil || cmd == nil || cmd.Name() == "patchtest" {
		t.Fatalf("%s: %q: no such command: %v", where, line, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("%s: %q: %v", where, line, err)
	}
	if f := cmd.Flags().Lookup("shard"); f != nil && f.Changed {
		i, count, err := results.ParseShard(f.Value.String())
		if err != nil || count != n || i < 1 {
			t.Errorf("%s: --shard %s (%v), want I/%d", where, f.Value, err, n)
		}
	}
}

// The GitHub Actions workflow: a nightly schedule, a matrix job over the
// shards whose run step names its own shard of the matrix's count and
// uploads its run folder, and a merge job after it that merges the
// artifacts; every patchtest command parses with the real CLI.
func TestGitHubWorkflow(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "ci", "github-nightly.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On struct {
			Schedule []struct{ Cron string } `yaml:"schedule"`
		} `yaml:"on"`
		Jobs map[string]struct {
			Needs     any `yaml:"needs"`
			Container struct {
				Image   string `yaml:"image"`
				Options string `yaml:"options"`
			} `yaml:"container"`
			Strategy struct {
				Matrix struct {
					Shard []int `yaml:"shard"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []struct {
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	if len(wf.On.Schedule) == 0 || len(strings.Fields(wf.On.Schedule[0].Cron)) != 5 {
		t.Errorf("no nightly schedule: %+v", wf.On)
	}
	shard, merge := wf.Jobs["shard"], wf.Jobs["merge"]
	n := len(shard.Strategy.Matrix.Shard)
	for i, s := range shard.Strategy.Matrix.Shard {
		if s != i+1 {
			t.Errorf("matrix %v: want 1..%d", shard.Strategy.Matrix.Shard, n)
		}
	}
	// The default source is Debian's linux-source package, which
	// GitHub's Ubuntu runners cannot install: the shard job runs in
	// Debian, as root (no sudo there), with the runner's /dev/kvm.
	if !strings.HasPrefix(shard.Container.Image, "debian:") || !strings.Contains(shard.Container.Options, "--device /dev/kvm") {
		t.Errorf("shard job container %+v: want a Debian image with --device /dev/kvm", shard.Container)
	}
	ran, uploaded := false, false
	for _, st := range shard.Steps {
		if strings.Contains(st.Run, "sudo ") {
			t.Errorf("shard step %q: a Debian container has no sudo (its jobs run as root)", st.Run)
		}
		if strings.Contains(st.Run, "patchtest run") {
			ran = true
			parseCommand(t, "shard job", strings.ReplaceAll(st.Run, "${{ matrix.shard }}", "2"), n)
			if !strings.Contains(st.Run, "--shard ${{ matrix.shard }}/"+strconv.Itoa(n)) {
				t.Errorf("shard step %q does not run its matrix shard of %d", st.Run, n)
			}
		}
		if strings.HasPrefix(st.Uses, "actions/upload-artifact") && st.With["path"] == "shard-results" {
			uploaded = true
		}
	}
	if !ran || !uploaded {
		t.Errorf("shard job: runs patchtest %v, uploads its run folder %v", ran, uploaded)
	}
	if merge.Needs != "shard" {
		t.Errorf("merge job needs %v, want shard", merge.Needs)
	}
	merged := false
	for _, st := range merge.Steps {
		if strings.Contains(st.Run, "results merge") {
			merged = true
			parseCommand(t, "merge job", st.Run, n)
		}
	}
	if !merged {
		t.Error("the merge job does not merge")
	}
}

// The Kubernetes Indexed Job: completions and parallelism are the shard
// count, each pod runs shard JOB_COMPLETION_INDEX+1 of it, and the merge
// Job merges the shards' folders.
func TestKubernetesJobs(t *testing.T) {
	type job struct {
		Kind string `yaml:"kind"`
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int    `yaml:"completions"`
			Parallelism    int    `yaml:"parallelism"`
			Template       struct {
				Spec struct {
					Containers []struct {
						Command []string `yaml:"command"`
						Args    []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	read := func(name string) job {
		b, err := os.ReadFile(filepath.Join("..", "..", "configs", "ci", name))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		for {
			var j job
			if err := dec.Decode(&j); err != nil {
				t.Fatalf("%s: no Job: %v", name, err)
			}
			if j.Kind == "Job" {
				return j
			}
		}
	}
	shards := read("k8s-shards.yaml")
	n := shards.Spec.Completions
	if shards.Kind != "Job" || shards.Spec.CompletionMode != "Indexed" || n < 2 || shards.Spec.Parallelism != n {
		t.Fatalf("shards job: %+v", shards.Spec)
	}
	arg := shards.Spec.Template.Spec.Containers[0].Args[0]
	if !strings.Contains(arg, "--shard $((JOB_COMPLETION_INDEX + 1))/"+strconv.Itoa(n)) {
		t.Errorf("pod command %q does not run shard JOB_COMPLETION_INDEX+1 of %d", arg, n)
	}
	parseCommand(t, "shard pod", regexp.MustCompile(`\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)`).ReplaceAllString(strings.ReplaceAll(arg, "$JOB_COMPLETION_INDEX", "0"), "1"), n)
	merge := read("k8s-merge.yaml")
	if a := merge.Spec.Template.Spec.Containers[0].Args[0]; !strings.Contains(a, "results merge") {
		t.Errorf("merge job runs %q", a)
	} else {
		parseCommand(t, "merge pod", a, n)
	}
}

// The workflow passes actionlint, GitHub's workflow checker, with
// shellcheck over every run step, as a pull request touching it would
// be checked: unknown keys, wrong expressions, a job needing a job that
// does not exist, an unquoted substitution in a script.
func TestGitHubWorkflowActionlint(t *testing.T) {
	shellcheck := vmtest.Program(t, setup.Need{Program: "shellcheck", Package: "shellcheck", Why: "for actionlint's checks of the workflow's scripts"})
	var out strings.Builder
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Shellcheck: shellcheck})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFile(filepath.Join("..", "..", "configs", "ci", "github-nightly.yml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Errorf("actionlint: %d problem(s):\n%s", len(errs), out.String())
	}
}

// The Kubernetes files decode strictly into Kubernetes' own types (an
// unknown or misplaced field fails, as kubectl apply --validate=strict
// would), every volume a Job claims is defined and ReadWriteMany (the
// shard pods may run on different nodes), the image is a tag pulled
// if not present rather than :latest pulled always, and the
// Containerfile that builds it installs every package patchtest needs to
// boot guests and build kernels.
func TestKubernetesStrict(t *testing.T) {
	var jobs []batchv1.Job
	claims := map[string]corev1.PersistentVolumeClaim{}
	for _, name := range []string{"k8s-shards.yaml", "k8s-merge.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "configs", "ci", name))
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		for {
			var doc yaml.Node
			if err := dec.Decode(&doc); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			raw, err := yaml.Marshal(&doc)
			if err != nil {
				t.Fatal(err)
			}
			var meta struct {
				Kind string `yaml:"kind"`
			}
			doc.Decode(&meta)
			switch meta.Kind {
			case "Job":
				var j batchv1.Job
				if err := k8syaml.UnmarshalStrict(raw, &j); err != nil {
					t.Fatalf("%s: Job: %v", name, err)
				}
				jobs = append(jobs, j)
			case "PersistentVolumeClaim":
				var c corev1.PersistentVolumeClaim
				if err := k8syaml.UnmarshalStrict(raw, &c); err != nil {
					t.Fatalf("%s: PersistentVolumeClaim: %v", name, err)
				}
				claims[c.Name] = c
			default:
				t.Fatalf("%s: a %q, want Jobs and PersistentVolumeClaims", name, meta.Kind)
			}
		}
	}
	cf, err := os.ReadFile(filepath.Join("..", "..", "configs", "ci", "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 {
		t.Fatalf("%d Jobs, want the shards' and the merge's", len(jobs))
	}
	for _, j := range jobs {
		spec := j.Spec.Template.Spec
		for _, v := range spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			c, ok := claims[v.PersistentVolumeClaim.ClaimName]
			switch {
			case !ok:
				t.Errorf("Job %s claims %q, which no file defines", j.Name, v.PersistentVolumeClaim.ClaimName)
			case !slices.Contains(c.Spec.AccessModes, corev1.ReadWriteMany):
				t.Errorf("claim %s: access modes %v, want ReadWriteMany (the pods may run on different nodes)", c.Name, c.Spec.AccessModes)
			}
		}
		for _, c := range spec.Containers {
			if c.ImagePullPolicy == corev1.PullAlways || c.ImagePullPolicy == "" || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
				t.Errorf("Job %s: image %q pulled %q, want a tag pulled IfNotPresent", j.Name, c.Image, c.ImagePullPolicy)
			}
			if !strings.Contains(string(cf), "-t "+c.Image+" ") {
				t.Errorf("Job %s runs %s, which the Containerfile's build line does not tag", j.Name, c.Image)
			}
		}
	}
	shard := jobs[0].Spec.Template.Spec.Containers[0]
	if _, ok := shard.Resources.Limits["devices.kubevirt.io/kvm"]; !ok {
		t.Errorf("the shard pods request no /dev/kvm: limits %v", shard.Resources.Limits)
	}
	needs := append(append(append([]setup.Need{}, setup.Boot...), setup.Build...), setup.BuildLibraries...)
	for _, n := range needs {
		if !regexp.MustCompile(`(?m)\s` + regexp.QuoteMeta(n.Package) + `(\s|$)`).Match(cf) {
			t.Errorf("the Containerfile does not install %s (%s)", n.Package, n.Why)
		}
	}
}
