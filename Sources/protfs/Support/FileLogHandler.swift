import Foundation
import Logging

/// swift-log handler appending lines to a file: the daemon's log once it has left the terminal.
struct FileLogHandler: LogHandler {
    let label: String
    let fd: Int32
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, path: String) {
        self.label = label
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard fd >= 0 else { return }
        let line = "\(ISO8601DateFormatter().string(from: Date())) \(event.level) \(label): \(event.message)\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
    }
}
