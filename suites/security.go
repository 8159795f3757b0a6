package suites

import (
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The security cases check one invariant: a read-only file's page cache
// is never modified through a pipe, a socket or a crypto API it was
// spliced into. Each reads the file back through a fresh descriptor.

// readOnlyFile creates a 0444 file and opens it O_RDONLY.
func readOnlyFile(t *T, data []byte) (string, int) {
	p := filepath.Join(t.Dir(), "readonly")
	Must(os.WriteFile(p, data, 0o444))
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	Must(err)
	return p, t.Track(fd)
}

// unchanged checks the invariant and observes it.
func unchanged(t *T, path string, want []byte, what string) Observation {
	got := readFile(path)
	o := Intact(got, want)
	t.Check(o.Value == "intact", "%s modified a read-only file: %s", what, o.Value)
	return o
}

// dirtyPipe is the Dirty Pipe pattern (CVE-2022-0847): make every pipe
// buffer mergeable by filling and draining the pipe, splice one byte of
// the read-only file into it, then write to the pipe.
func dirtyPipe(t *T, prefill func(w int)) Observation {
	data := Pattern(page, 81)
	p, f := readOnlyFile(t, data)
	r, w := t.Pipe(0)
	prefill(w)
	readAll(r, fionread(r)) // drain; leaves the buffers' flags behind
	off := int64(0)
	if n, err := splice(f, &off, w, nil, 1, 0); err != nil || n != 1 {
		return Result(n, err)
	}
	if err := writeAll(w, []byte("PWNED")); err != nil {
		return Result(0, err)
	}
	return unchanged(t, p, data, "write after splice")
}

func securityCases() []*Case {
	return []*Case{
		{
			ID: "security/readonly/dirty-pipe", Desc: "Dirty Pipe: splice 1 byte of a 0444 file into a drained pipe, then write to the pipe",
			Calls: "fill+drain pipe; splice(ro file, w, 1); write(w, data); reread file",
			Pins:  "CVE-2022-0847",
			Run: func(t *T) Observation {
				return dirtyPipe(t, func(w int) { fillPipe(w) })
			},
		},
		{
			ID: "security/readonly/dirty-pipe-vmsplice-prefill", Desc: "Dirty Pipe with the pipe prefilled by vmsplice instead of write",
			Calls: "vmsplice-fill+drain pipe; splice(ro file, w, 1); write(w, data); reread file",
			Run: func(t *T) Observation {
				return dirtyPipe(t, func(w int) {
					mem := t.Mmap(page)
					for i := 0; i < 16; i++ {
						if _, err := vmsplice(w, iov(mem), unix.SPLICE_F_NONBLOCK); err != nil {
							return
						}
					}
				})
			},
		},
		{
			ID: "security/readonly/af-alg-hash", Desc: "a 0444 file's pages spliced into an AF_ALG sha256 socket: digest right, file untouched",
			Needs: []string{"CONFIG_CRYPTO_USER_API_HASH", "CONFIG_CRYPTO_SHA256"},
			Calls: "socket(AF_ALG, hash sha256); splice(ro file, w); splice(r, alg); read digest; reread file",
			Run: func(t *T) Observation {
				data := Pattern(3*page, 82)
				p, f := readOnlyFile(t, data)
				op, skip := algSocket(t, "hash", "sha256")
				if skip != "" {
					return Skip(skip)
				}
				if o, ok := spliceVia(t, f, op, len(data)); !ok {
					return o
				}
				digest := make([]byte, 32)
				n, err := unix.Read(op, digest)
				if err != nil || n != 32 {
					return Result(n, err)
				}
				want := sha256.Sum256(data)
				t.Check(eq(digest, want[:]), "AF_ALG sha256 digest of spliced pages is wrong")
				return Seq(Bool(eq(digest, want[:])).Value, unchanged(t, p, data, "AF_ALG hash").Value)
			},
		},
		{
			ID: "security/readonly/af-alg-skcipher", Desc: "a 0444 file's pages spliced into an AF_ALG cbc(aes) socket: file untouched",
			Needs: []string{"CONFIG_CRYPTO_USER_API_SKCIPHER", "CONFIG_CRYPTO_CBC", "CONFIG_CRYPTO_AES"},
			Calls: "socket(AF_ALG, skcipher cbc(aes)); setkey; sendmsg(op, iv, MSG_MORE); splice(ro file→pipe→alg); read; reread file",
			Run: func(t *T) Observation {
				data := Pattern(2*page, 84)
				p, f := readOnlyFile(t, data)
				op, skip := algSkcipher(t)
				if skip != "" {
					return Skip(skip)
				}
				if o, ok := spliceVia(t, f, op, len(data)); !ok {
					return o
				}
				out := readAll(op, len(data))
				return Seq(kv("ciphertext", len(out)), Bool(!eq(out, data)).Value, unchanged(t, p, data, "AF_ALG skcipher").Value)
			},
		},
		{
			ID: "security/readonly/ktls-sendfile", Desc: "a 0444 file sent with sendfile into a kTLS socket: file untouched",
			Needs: []string{"CONFIG_TLS"},
			Calls: "setsockopt(TCP_ULP tls, TLS_TX aes-gcm-128); sendfile(tls, ro file); reread file",
			Run: func(t *T) Observation {
				data := Pattern(5*page, 83)
				p, f := readOnlyFile(t, data)
				c, s := t.TCPPair()
				if err := unix.SetsockoptString(c, unix.SOL_TCP, unix.TCP_ULP, "tls"); err != nil {
					return Skip("no kTLS: TCP_ULP tls: " + ErrnoName(err))
				}
				info := make([]byte, 40) // struct tls12_crypto_info_aes_gcm_128
				binary.LittleEndian.PutUint16(info[0:], 0x0303)
				binary.LittleEndian.PutUint16(info[2:], 51) // TLS_CIPHER_AES_GCM_128
				for i := 4; i < 40; i++ {
					info[i] = byte(i)
				}
				if err := unix.SetsockoptString(c, unix.SOL_TLS, tlsTX, string(info)); err != nil {
					return Skip("kTLS TX not available: " + ErrnoName(err))
				}
				go readAll(s, 1<<20) // keep the receive window open
				total := 0
				for total < len(data) {
					n, err := unix.Sendfile(c, f, nil, len(data)-total)
					if err != nil || n == 0 {
						return Result(n, err)
					}
					total += n
				}
				return Seq(kv("sent", total), unchanged(t, p, data, "kTLS sendfile").Value)
			},
		},
	}
}

// spliceVia moves n bytes from in through a fresh pipe into out, both in
// single splices; ok is false (with the failing call observed) otherwise.
func spliceVia(t *T, in, out, n int) (Observation, bool) {
	r, w := t.Pipe(0)
	if m, err := splice(in, nil, w, nil, n, 0); err != nil || m != n {
		return Result(m, err), false
	}
	if m, err := splice(r, nil, out, nil, n, 0); err != nil || m != n {
		return Result(m, err), false
	}
	return Observation{}, true
}

// algSocket opens an AF_ALG operation socket, or says why it cannot.
func algSocket(t *T, typ, name string) (int, string) {
	s, err := unix.Socket(unix.AF_ALG, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, "no AF_ALG: " + ErrnoName(err)
	}
	t.Track(s)
	if err := unix.Bind(s, &unix.SockaddrALG{Type: typ, Name: name}); err != nil {
		return -1, "AF_ALG " + typ + " " + name + ": " + ErrnoName(err)
	}
	op, _, _ := unix.Syscall(unix.SYS_ACCEPT, uintptr(s), 0, 0)
	if int(op) < 0 {
		return -1, "AF_ALG accept failed"
	}
	return t.Track(int(op)), ""
}

// tlsTX is TLS_TX from linux/tls.h, which x/sys/unix does not export.
const tlsTX = 1

// algSkcipher opens an AF_ALG cbc(aes) encryption operation with a fixed
// key and IV, ready for data.
func algSkcipher(t *T) (int, string) {
	s, err := unix.Socket(unix.AF_ALG, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, "no AF_ALG: " + ErrnoName(err)
	}
	t.Track(s)
	if err := unix.Bind(s, &unix.SockaddrALG{Type: "skcipher", Name: "cbc(aes)"}); err != nil {
		return -1, "AF_ALG skcipher cbc(aes): " + ErrnoName(err)
	}
	if err := unix.SetsockoptString(s, unix.SOL_ALG, unix.ALG_SET_KEY, string(make([]byte, 16))); err != nil {
		return -1, "AF_ALG setkey: " + ErrnoName(err)
	}
	op, _, e := unix.Syscall(unix.SYS_ACCEPT, uintptr(s), 0, 0)
	if e != 0 {
		return -1, "AF_ALG accept: " + ErrnoName(e)
	}
	t.Track(int(op))
	// Control message: ALG_SET_OP = encrypt, ALG_SET_IV = 16 zero bytes.
	var opMsg []byte
	opMsg = append(opMsg, cmsg(unix.SOL_ALG, unix.ALG_SET_OP, le32(unix.ALG_OP_ENCRYPT))...)
	opMsg = append(opMsg, cmsg(unix.SOL_ALG, unix.ALG_SET_IV, append(le32(16), make([]byte, 16)...))...)
	if err := unix.Sendmsg(int(op), nil, opMsg, nil, unix.MSG_MORE); err != nil {
		return -1, "AF_ALG sendmsg: " + ErrnoName(err)
	}
	return int(op), ""
}

func le32(v uint32) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint32(b, v)
	return b
}

// cmsg builds one control message.
func cmsg(level, typ int, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = int32(level)
	h.Type = int32(typ)
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}
