/// What `protfs fsck` learns about one container: every header slot and every block tag is checked.
public struct ContainerReport: Sendable {
    public var problems: [String] = []
    public var badBlocks: [UInt64] = []
    public var label: String?
    public var plaintextSize: UInt64?
    public var isClean: Bool { problems.isEmpty && badBlocks.isEmpty }
    public init(problems: [String] = []) { self.problems = problems }
}

extension Container {
    static let maxListedBadBlocks = 4096

    public static func check(fd: Int32, keys: @escaping LabelKeyLookup) -> ContainerReport {
        var report = ContainerReport()
        let c: Container
        do { (c, report.problems) = try openReporting(fd: fd, keys: .labelKeys(keys)) } catch {
            report.problems.append("\(error)")
            return report
        }
        report.label = c.fields.labelId
        report.plaintextSize = c.size
        // Blocks in the backing file's holes read as zeros and are skipped (`nextData`); they can only be in
        // hole ranges, since anywhere else zeros fail their tag, and a listed range is what makes them valid.
        var idx: UInt64 = 0
        let B = UInt64(Layout.blockSize)
        while idx <= c.finalIndex {
            let next = c.nextData(from: idx * B) / B
            if next > idx {
                let holes = c.fields.holes
                if !holes.contains(where: { $0.first <= idx && $0.end >= next }) {
                    // Zeros outside the listed ranges: damage. Listed one by one, up to a point.
                    for skipped in idx..<next {
                        if report.badBlocks.count >= Self.maxListedBadBlocks { break }
                        if !holes.contains(where: { $0.contains(skipped) }) { report.badBlocks.append(skipped) }
                    }
                }
                idx = next
                continue
            }
            do { _ = try c.lock.reading { try c.readBlock(idx) } } catch { report.badBlocks.append(idx) }
            idx += 1
        }
        return report
    }
}
