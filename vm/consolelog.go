package vm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// consoleLogs is how many console logs are kept in the cache directory.
const consoleLogs = 50

func consoleLogPath(spec Spec) (string, error) {
	if spec.ConsoleLog != "" {
		if err := os.MkdirAll(filepath.Dir(spec.ConsoleLog), 0o755); err != nil {
			return "", err
		}
		return spec.ConsoleLog, nil
	}
	dir := filepath.Join(spec.CacheDir, "consoles")
	if spec.CacheDir == "" {
		dir = filepath.Join(os.TempDir(), "patchtest-consoles")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(old) >= consoleLogs {
		// Names sort by time; drop the oldest.
		for _, f := range old[:len(old)-consoleLogs+1] {
			os.Remove(f)
			os.Remove(strings.TrimSuffix(f, ".log") + ".initramfs.cpio")
		}
	}
	name := fmt.Sprintf("%s-%d.log", time.Now().UTC().Format("20060102T150405.000000"), os.Getpid())
	return filepath.Join(dir, name), nil
}
