package kernels

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

func (b *Builder) jobs() int {
	if b.Jobs > 0 {
		return b.Jobs
	}
	return runtime.NumCPU()
}

// makeEnv pins what would otherwise make two builds of the same inputs
// differ.
func makeEnv() []string {
	return append(os.Environ(),
		"ARCH=x86_64",
		"KBUILD_BUILD_USER=patchtest",
		"KBUILD_BUILD_HOST=patchtest",
		"KBUILD_BUILD_TIMESTAMP=1970-01-01",
		"LC_ALL=C",
	)
}

// make runs make's targets for the tree src into out, compiling
// through cc when it is not nil.
func (b *Builder) make(ctx context.Context, src, out string, log io.Writer, cc *compilerCache, targets ...string) error {
	args := []string{"-C", src, "O=" + out, "ARCH=x86_64", fmt.Sprintf("-j%d", b.jobs())}
	env := makeEnv()
	if cc != nil {
		env = append(env, cc.env()...)
	}
	cmd := exec.CommandContext(ctx, "make", append(args, targets...)...)
	cmd.Env = env
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.follow(pr, log)
	}()
	err := cmd.Run()
	pw.Close()
	<-done
	return err
}

// follow copies make's output to log and reports progress every few
// seconds: how many files were compiled so far.
func (b *Builder) follow(r io.Reader, log io.Writer) {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	last := time.Now()
	for s.Scan() {
		line := s.Text()
		fmt.Fprintln(log, line)
		if strings.HasPrefix(line, "  CC ") || strings.HasPrefix(line, "  AS ") {
			n++
		}
		if time.Since(last) > 10*time.Second {
			b.progress("… %d files compiled", n)
			last = time.Now()
		}
	}
	io.Copy(io.Discard, r)
}
