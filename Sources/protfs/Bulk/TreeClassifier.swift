import Foundation
import Glibc
import ProtPolicy
import ProtSystem
import Synchronization

/// What `protfs scan` found for one file.
struct ScanResult {
    var entry: TreeEntry
    var classification: Policy.Classification?
    var counts: [String: Int] = [:]
    var error: String?
}

/// Classifies every regular file of a tree as the mount would label it, without writing anything: each
/// file is read once and streamed through the policy's detectors, on as many threads as there are cores.
final class TreeClassifier: Sendable {
    let policy: Policy
    let detectors: DetectorSet
    let threads: Int

    init(policy: Policy, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.policy = policy
        detectors = try DetectorSet(policy.allDetectorDefinitions)
        self.threads = max(1, threads)
    }

    /// `root` is the tree; its top is the share root for folder rules. `progress` is called on the calling
    /// thread about five times a second with files and bytes done.
    func run(root: String, files: [TreeEntry], progress: (Int, UInt64) -> Void) -> [ScanResult] {
        let work = Work(files.map { ScanResult(entry: $0) })
        let group = DispatchGroup()
        for _ in 0..<min(threads, max(files.count, 1)) {
            group.enter()
            let t = Thread { [self] in
                var buffer = [UInt8](repeating: 0, count: 1 << 20)
                while let i = work.take(limit: files.count) {
                    let r = classify(root: root, files[i], buffer: &buffer)
                    work.finish(i, r)
                }
                group.leave()
            }
            t.start()
        }
        while group.wait(timeout: .now() + .milliseconds(200)) == .timedOut {
            let (f, b) = work.done
            progress(f, b)
        }
        return work.results
    }

    /// Shared by the scanning threads: the next file to take, the results, the progress counters.
    private final class Work: Sendable {
        private struct Tally {
            var next = 0, doneFiles = 0, doneBytes: UInt64 = 0
            var results: [ScanResult]
        }
        private let tally: Mutex<Tally>
        init(_ results: [ScanResult]) { tally = Mutex(Tally(results: results)) }
        var results: [ScanResult] { tally.withLock { $0.results } }
        func take(limit: Int) -> Int? {
            tally.withLock { t in
                guard t.next < limit else { return nil }
                t.next += 1
                return t.next - 1
            }
        }
        func finish(_ i: Int, _ r: ScanResult) {
            tally.withLock { t in
                t.results[i] = r; t.doneFiles += 1; t.doneBytes += UInt64(max(r.entry.st.st_size, 0))
            }
        }
        var done: (Int, UInt64) { tally.withLock { ($0.doneFiles, $0.doneBytes) } }
    }

    private func classify(root: String, _ entry: TreeEntry, buffer: inout [UInt8]) -> ScanResult {
        var r = ScanResult(entry: entry)
        let fd = (Array(root.utf8) + [0x2F] + entry.path).withCString { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { r.error = String(cString: strerror(errno)); return r }
        defer { close(fd) }
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let scanner = ContentScanner(detectors)
        while true {
            let n = buffer.withUnsafeMutableBytes { b in retryingInterrupts { read(fd, b.baseAddress, b.count) } }
            if n < 0 { r.error = Errno.current.description; return r }
            if n == 0 { break }
            buffer.withUnsafeBytes { scanner.feed(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        r.counts = scanner.finish()
        r.classification = policy.classify(path: "/" + entry.text, detectorCounts: r.counts)
        return r
    }
}
