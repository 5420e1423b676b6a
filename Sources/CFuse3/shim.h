#ifndef PROTFS_CFUSE3_SHIM_H
#define PROTFS_CFUSE3_SHIM_H
// FUSE_USE_VERSION cannot be set from a module map; it must precede the include.
#define FUSE_USE_VERSION 314
#include <stdio.h>
#include <fuse3/fuse_lowlevel.h>
#include <sys/xattr.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <sys/file.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>

// fuse_session_loop_mt is a macro or a versioned symbol depending on how libfuse was built: call it from C.
static inline int protfs_session_loop_mt(struct fuse_session *se, unsigned int max_threads) {
    struct fuse_loop_config *cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, max_threads);
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    int r = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    return r;
}

static inline struct fuse_args protfs_args(int argc, char **argv) {
    struct fuse_args a = FUSE_ARGS_INIT(argc, argv);
    return a;
}

// renameat2 is declared only under _GNU_SOURCE, which must not be defined here: it changes struct
// definitions (fd_set) that Swift's Glibc module also defines.
extern int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
static inline int protfs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

// Declared only under _GNU_SOURCE (see above).
extern int sync_file_range(int fd, long offset, long nbytes, unsigned int flags);
static inline int protfs_start_writeback(int fd, long offset, long nbytes) {
    return sync_file_range(fd, offset, nbytes, 2 /* SYNC_FILE_RANGE_WRITE */);
}

// The caller's very descriptor, taken from its process (Linux 5.6): checked after it is taken, so no path is
// resolved between the check and the use. syscall(2) is variadic, which Swift cannot call.
#include <sys/syscall.h>
#include <unistd.h>
static inline int protfs_pidfd_open(int pid, unsigned int flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }
static inline int protfs_pidfd_getfd(int pidfd, int fd) { return (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0); }

// Drops one capability from the calling thread's effective and permitted sets (threads created after it
// inherit the smaller sets). Returns 0, or -1 with errno set.
#include <linux/capability.h>
static inline int protfs_drop_capability(int cap) {
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) != 0) return -1;
    data[cap / 32].effective &= ~(1u << (cap % 32));
    data[cap / 32].permitted &= ~(1u << (cap % 32));
    data[cap / 32].inheritable &= ~(1u << (cap % 32));
    return (int)syscall(SYS_capset, &hdr, data);
}
#endif
