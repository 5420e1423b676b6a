// ProtMount: the FUSE daemon, the only module that speaks FUSE. Each handler asks ProtAccess, commits the row,
// does the system call through descriptors (never by path after a check) and replies once. docs/ARCHITECTURE.md
// follows an open and a write through it and lists its threads and locks.
