// ProtSystem: the bottom layer, what every other module needs from the operating system and nothing more.
// One errno type (`Errno`) and the only EINTR loops (`valueOrErrno`, `retryingInterrupts`, `writeAll`); the two
// locks Synchronization's Mutex does not cover (`RWLock`, `PthreadMutex` with tryLock); thread names; clocks;
// the account database (`userName(uid:)`, `NameCache`). Its C half, CLinux, declares the Linux calls Swift's
// Glibc module does not import. It imports no other protfs module.
