// protfs: the command line. One command per file (Commands, Sharing, Bulk), grouped in --help by
// argument-parser's CommandGroup (Protfs.swift). Output that is data takes --format table|json|csv.
