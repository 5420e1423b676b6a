#ifndef PROTFS_CFUSE3_SHIM_H
#define PROTFS_CFUSE3_SHIM_H
// FUSE_USE_VERSION cannot be set from a module map; it must precede the include.
#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>
#endif
