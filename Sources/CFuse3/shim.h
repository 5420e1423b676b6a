#ifndef PROTFS_CFUSE3_SHIM_H
#define PROTFS_CFUSE3_SHIM_H
// FUSE_USE_VERSION cannot be set from a module map; it must precede the include.
#define FUSE_USE_VERSION 314
#include <stdio.h>
#include <fuse3/fuse_lowlevel.h>
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

#endif
