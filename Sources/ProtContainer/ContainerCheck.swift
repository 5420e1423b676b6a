import ProtCrypto

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
    public static func check(fd: Int32, keys: @escaping LabelKeyLookup) -> ContainerReport {
        var report = ContainerReport()
        let c: Container
        do { (c, report.problems) = try openReporting(fd: fd, keys: .labelKeys(keys)) } catch {
            report.problems.append("\(error)")
            return report
        }
        report.label = c.fields.labelId
        report.plaintextSize = c.size
        for idx in 0...c.finalIndex {
            do { _ = try c.lock.reading { try c.readBlock(idx) } } catch { report.badBlocks.append(idx) }
        }
        return report
    }
}
