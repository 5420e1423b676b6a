// ProtLedger: the access ledger. One SQLite database in WAL mode, rows hash-chained, appends group-committed
// on a writer thread (GroupCommitter), indexes maintained off the commit path (Checkpointer); queries and
// chain verification.
