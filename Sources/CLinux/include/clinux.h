#ifndef PROTFS_CLINUX_H
#define PROTFS_CLINUX_H
// Linux calls Swift's Glibc module does not import: extended attributes, and those declared only under
// _GNU_SOURCE, which must not be defined here (it changes struct definitions, fd_set, that Glibc also has).
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

int protfs_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

// Starts writeback of a range (SYNC_FILE_RANGE_WRITE) without waiting for it.
int protfs_start_writeback(int fd, long offset, long nbytes);

// The caller's very descriptor, taken from its process (Linux 5.6): checked after it is taken, so no path is
// resolved between the check and the use. syscall(2) is variadic, which Swift cannot call.
int protfs_pidfd_open(int pid, unsigned int flags);
int protfs_pidfd_getfd(int pidfd, int fd);

// Drops one capability from the calling thread's effective, permitted and inheritable sets (threads
// created after it inherit the smaller sets). Returns 0, or -1 with errno set.
int protfs_drop_capability(int cap);
#endif
