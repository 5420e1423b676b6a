import ArgumentParser
import Foundation
import ProtMount

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Copy an existing tree into a mounted share: each file is labeled and encrypted by the mount.",
        discussion: """
            The contents of SRC go into DEST (created if missing), which must be inside a protfs mount. Modes, \
            times, symlinks and extended attributes are kept; ownership too when run as root (a chown through the \
            mount also hands the file's `owner` rights to its owner). The importer needs `edit` on the labels of \
            the destination folders, like any writer. Re-running skips files already imported (same size and \
            mtime); an interrupted run leaves only hidden .protfs-import.* files, removed by the next run. \
            Exit status 1 when any file could not be imported.
            """)

    @Argument(help: "The tree to import.") var source: String
    @Argument(help: "The destination folder, inside a protfs mount.") var destination: String
    @Option(help: "table or json.") var format: OutputFormat = .table

    func run() throws {
        var st = stat()
        guard stat(source, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw ValidationError("\(source) is not a directory")
        }
        let dest = Actor.absolute(destination)
        guard
            MountTable.entries().contains(where: {
                $0.type == "fuse.protfs" && (dest == $0.target || dest.hasPrefix($0.target + "/"))
            })
        else { throw ValidationError("\(destination) is not inside a protfs mount") }
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        var walkProblems = 0
        let entries = TreeWalk(root: source).entries {
            Out.warn("import: \($0)"); walkProblems += 1
        }
        let files = entries.filter { $0.kind == .file }
        let bar = ProgressBar(verb: "import", files: files.count, bytes: files.reduce(0) { $0 + UInt64($1.st.st_size) })
        let started = Date()
        let importer = Importer(source: source, destination: dest)
        importer.run(entries) { bar.update(files: $0, bytes: $1) }
        bar.finish()
        sync()  // imported data reaches the store's disk before success is reported
        let t = importer.totals
        let seconds = Date().timeIntervalSince(started)
        let errors = t.errors.count + walkProblems
        if format == .json {
            Out.json([
                "files": t.files, "already_imported": t.alreadyImported, "bytes": t.bytes, "directories": t.directories,
                "symlinks": t.symlinks, "labels": t.labels, "raised_by_detectors": t.raised, "errors": errors,
                "seconds": (seconds * 1000).rounded() / 1000
            ])
        } else {
            Out.line(
                "imported \(t.files) files (\(ProgressBar.bytes(t.bytes))), \(t.directories) directories, "
                    + "\(t.symlinks) symlinks in \(String(format: "%.2f", seconds)) s; "
                    + "\(t.alreadyImported) already imported"
            )
            for (l, n) in t.labels.sorted(by: { $0.key < $1.key }) { Out.line("  \(l): \(n) files") }
            Out.line("\(t.raised) raised by detectors, \(errors) errors")
        }
        if errors > 0 { throw ExitCode.failure }
    }
}
