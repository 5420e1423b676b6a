// ProtStore: one store on disk. Initialising and unlocking it (the sealed master key, the config MAC, the
// sealed policy), the label keys derived from the master key, the revocations, protect/unprotect of files.
