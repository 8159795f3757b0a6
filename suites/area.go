package suites

import "strings"

// areas are the kernel source paths each group of cases exercises: a
// change of a case's outcome between two commits that touch none of them
// is not the code's doing (a nightly run then calls the case flaky).
var areas = map[string][]string{
	"vmsplice":        {"fs/splice.c", "fs/pipe.c", "fs/read_write.c", "include/linux/splice.h", "include/linux/pipe_fs_i.h", "include/linux/uio.h", "lib/iov_iter.c", "mm/gup.c", "mm/filemap.c", "mm/shmem.c"},
	"splice":          {"fs/splice.c", "fs/pipe.c", "fs/read_write.c", "include/linux/splice.h", "include/linux/pipe_fs_i.h", "lib/iov_iter.c", "mm/filemap.c", "mm/shmem.c", "net/core/", "net/ipv4/tcp.c", "net/unix/"},
	"tee":             {"fs/splice.c", "fs/pipe.c", "include/linux/splice.h", "include/linux/pipe_fs_i.h"},
	"sendfile":        {"fs/read_write.c", "fs/splice.c", "fs/pipe.c", "include/linux/splice.h", "lib/iov_iter.c", "mm/filemap.c", "mm/shmem.c", "net/core/", "net/ipv4/tcp.c", "net/unix/"},
	"copy_file_range": {"fs/read_write.c", "fs/remap_range.c", "fs/splice.c", "mm/filemap.c", "mm/shmem.c"},
	"pipe":            {"fs/pipe.c", "include/linux/pipe_fs_i.h"},
	"security":        {"fs/splice.c", "fs/pipe.c", "fs/read_write.c", "security/", "kernel/capability.c"},
	// The peer suites exercise what the catalogue does, and mm/cow the
	// memory manager's pinning.
	"peer": {"fs/splice.c", "fs/pipe.c", "fs/read_write.c", "include/linux/splice.h", "include/linux/pipe_fs_i.h", "lib/iov_iter.c", "mm/", "net/core/", "net/ipv4/tcp.c", "net/tls/"},
	// The harness's own self-tests provoke a crash and a hang on purpose.
	"selftest": {"kernel/", "drivers/tty/sysrq.c"},
}

// Area returns the kernel source paths the case id exercises (by its
// group, the ID's first part); nil when the group has none on record.
func Area(id string) []string {
	group, _, _ := strings.Cut(id, "/")
	return areas[group]
}
