package initramfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/renameio/v2"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression is how the base archive is compressed. The kernel unpacks
// all three, but a kernel built without CONFIG_RD_GZIP or CONFIG_RD_ZSTD
// only takes the ones it has; None works everywhere.
type Compression string

// Compressions.
const (
	None Compression = "none"
	Gzip Compression = "gzip"
	Zstd Compression = "zstd"
)

// ParseCompression parses a compression name; empty means Default.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(s); c {
	case "":
		return Default, nil
	case None, Gzip, Zstd:
		return c, nil
	}
	return "", fmt.Errorf("initramfs compression %q: want none, gzip or zstd", s)
}

// Default is the compression used unless one is asked for: zstd, which
// BenchmarkBootToReady measured fastest to boot under TCG (an emulated CPU
// inflates gzip slowly; zstd decodes several times faster; an uncompressed
// archive costs more to load than zstd costs to decode).
const Default = Zstd

func (c Compression) ext() string {
	switch c {
	case Gzip:
		return ".cpio.gz"
	case Zstd:
		return ".cpio.zst"
	}
	return ".cpio"
}

// Cached returns the path of b's archive compressed with c in dir,
// building it first unless an earlier build is there. The file is written
// atomically, so concurrent builders at worst do the work twice.
func Cached(dir string, b Base, c Compression) (string, bool, error) {
	key, err := b.Key()
	if err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	if c == "" {
		c = Default
	}
	out := filepath.Join(dir, key+c.ext())
	if _, err := os.Stat(out); err == nil {
		return out, true, nil
	}
	files, err := b.Files()
	if err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	var buf bytes.Buffer
	if err := Compress(&buf, files, c); err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	if err := renameio.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return "", false, fmt.Errorf("initramfs: %w", err)
	}
	return out, false, nil
}

// Compress writes files as one archive compressed with c, padded with
// zeros to a multiple of four bytes so that another archive may follow.
func Compress(w io.Writer, files []File, c Compression) error {
	cw := &countingWriter{w: w}
	var (
		zw  io.WriteCloser
		err error
	)
	switch c {
	case None:
	case Gzip:
		zw, err = gzip.NewWriterLevel(cw, gzip.BestSpeed)
	case Zstd:
		// The kernel's decoder wants a window it can allocate: stay at
		// the default level and a bounded window.
		zw, err = zstd.NewWriter(cw, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(1<<20), zstd.WithEncoderCRC(true))
	default:
		return fmt.Errorf("unknown compression %q", c)
	}
	if err != nil {
		return err
	}
	if zw == nil {
		err = Write(cw, files)
	} else {
		err = Write(zw, files)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if pad := (4 - cw.n%4) % 4; pad > 0 {
		_, err = cw.Write(make([]byte, pad))
	}
	return err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Assemble writes the boot's initramfs to out: the base archive followed by
// an uncompressed archive of extra.
func Assemble(out, base string, extra []File) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = func() error {
		in, err := os.Open(base)
		if err != nil {
			return err
		}
		defer in.Close()
		n, err := io.Copy(f, in)
		if err != nil {
			return err
		}
		if n%4 != 0 {
			return errors.New(base + ": archive not padded to four bytes")
		}
		return Write(f, extra)
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("assemble initramfs: %w", err)
	}
	return nil
}
