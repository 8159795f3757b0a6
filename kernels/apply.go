package kernels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A source tree in the work directory is kept pristine between builds. A
// series is applied for one build and taken out again afterwards; the
// state file says what to undo if patchtest died in between.

const stateFile = "applied.json"

type appliedState struct {
	Git     bool     `json:"git"`
	Files   []string `json:"files,omitempty"`   // existed before; backed up
	Created []string `json:"created,omitempty"` // did not exist before
}

func applySeries(ctx context.Context, work string, src Source, s Series) error {
	tree := filepath.Join(work, "src")
	dir := filepath.Join(work, "series")
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := make([]string, len(s.Patches))
	for i, p := range s.Patches {
		files[i] = filepath.Join(dir, fmt.Sprintf("%04d.patch", i+1))
		if err := os.WriteFile(files[i], p.Data, 0o644); err != nil {
			return err
		}
	}
	state := appliedState{Git: src.IsGit()}
	if !state.Git {
		backup := filepath.Join(work, "backup")
		os.RemoveAll(backup)
		for _, f := range s.Files() {
			if strings.Contains(f, "..") {
				return &PatchError{Patch: s.Path, Detail: "refers to a path outside the tree: " + f}
			}
			p := filepath.Join(tree, f)
			if _, err := os.Lstat(p); err == nil {
				dst := filepath.Join(backup, f)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				if err := copyFile(dst, p); err != nil {
					return fmt.Errorf("back up %s: %w", f, err)
				}
				state.Files = append(state.Files, f)
			} else {
				state.Created = append(state.Created, f)
			}
		}
	}
	rec, _ := json.Marshal(state)
	if err := os.WriteFile(filepath.Join(work, stateFile), rec, 0o644); err != nil {
		return err
	}
	for i, p := range s.Patches {
		if err := applyOne(ctx, tree, files[i], state.Git); err != nil {
			if rerr := restorePristine(context.WithoutCancel(ctx), work, src); rerr != nil {
				err = fmt.Errorf("%w; and restoring the tree failed: %v", err, rerr)
			}
			var pe *PatchError
			if errors.As(err, &pe) {
				pe.Patch, pe.Subject = p.Name, p.Subject
			}
			return err
		}
	}
	return nil
}

func applyOne(ctx context.Context, tree, file string, git bool) error {
	var out bytes.Buffer
	if git {
		cmd := exec.CommandContext(ctx, "git", "-c", "user.name=patchtest", "-c", "user.email=patchtest@localhost",
			"am", "--quiet", "--keep-cr", file)
		cmd.Dir = tree
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			abort := exec.CommandContext(ctx, "git", "am", "--abort")
			abort.Dir = tree
			abort.Run()
			return &PatchError{Detail: failureLines(out.String())}
		}
		return nil
	}
	dry := exec.CommandContext(ctx, "patch", "-p1", "--dry-run", "--forward", "--batch", "-d", tree, "-i", file)
	dry.Stdout, dry.Stderr = &out, &out
	if err := dry.Run(); err != nil {
		return &PatchError{Detail: failureLines(out.String())}
	}
	out.Reset()
	cmd := exec.CommandContext(ctx, "patch", "-p1", "--forward", "--batch", "--no-backup-if-mismatch", "-r", "-", "-s", "-d", tree, "-i", file)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return &PatchError{Detail: failureLines(out.String())}
	}
	return nil
}

// failureLines keeps what says where a patch failed: the file being
// patched and the failing hunks.
func failureLines(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "checking file"), strings.HasPrefix(t, "patching file"),
			strings.Contains(t, "FAILED"), strings.Contains(t, "can't find file"),
			strings.Contains(t, "Reversed"), strings.Contains(t, "malformed"),
			strings.HasPrefix(t, "error:"), strings.HasPrefix(t, "Patch failed"),
			strings.Contains(t, "does not exist"), strings.Contains(t, "already exists"),
			strings.Contains(t, "Only garbage"):
			keep = append(keep, "  "+t)
		}
	}
	if len(keep) == 0 {
		return "  " + strings.ReplaceAll(strings.TrimSpace(tail(out, 10)), "\n", "\n  ")
	}
	return strings.Join(keep, "\n")
}

// restorePristine undoes an applied series, if the state file says one is
// applied.
func restorePristine(ctx context.Context, work string, src Source) error {
	data, err := os.ReadFile(filepath.Join(work, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var state appliedState
	if err := json.Unmarshal(data, &state); err != nil {
		return fmt.Errorf("%s: %w", stateFile, err)
	}
	tree := filepath.Join(work, "src")
	if state.Git {
		commit := strings.TrimPrefix(src.ID, "git:")
		for _, args := range [][]string{{"am", "--abort"}, {"reset", "--quiet", "--hard", commit}, {"clean", "-fdq"}} {
			cmd := exec.CommandContext(ctx, "git", args...)
			cmd.Dir = tree
			if out, err := cmd.CombinedOutput(); err != nil && args[0] != "am" {
				return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
			}
		}
	} else {
		backup := filepath.Join(work, "backup")
		for _, f := range state.Files {
			if err := copyFile(filepath.Join(tree, f), filepath.Join(backup, f)); err != nil {
				return fmt.Errorf("restore %s: %w", f, err)
			}
		}
		for _, f := range state.Created {
			if err := os.Remove(filepath.Join(tree, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		os.RemoveAll(backup)
	}
	return os.Remove(filepath.Join(work, stateFile))
}
