// ProtContainer: one protected file. Random-access plaintext reads and writes over authenticated, encrypted
// blocks with a header of two slots (FORMAT.md). Knows nothing of users, policy or FUSE, so it is fuzzed and
// property-tested alone. Every length and offset read from disk is validated; an integrity failure throws.
