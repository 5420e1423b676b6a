import Foundation
import Testing

/// Runs the real `protfs` binary built beside the test bundle.
enum CLI {
    static let binary: String = {
        let exe =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("protfs").path
    }()

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    struct Result { var status: Int32; var out: String; var err: String; var outBytes: [UInt8] }

    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:], cwd: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        var e = ProcessInfo.processInfo.environment
        e.removeValue(forKey: "PROTFS_PASSPHRASE")
        for (k, v) in env { e[k] = v }
        p.environment = e
        p.currentDirectoryURL = URL(fileURLWithPath: cwd ?? packageRoot)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Each written by its reader only; read here only after group.wait().
        nonisolated(unsafe) var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter();
        DispatchQueue.global().async {
            outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave()
        }
        group.enter();
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave()
        }
        p.waitUntilExit()
        group.wait()
        return Result(
            status: p.terminationStatus, out: String(decoding: outData, as: UTF8.self),
            err: String(decoding: errData, as: UTF8.self), outBytes: Array(outData))
    }
}

final class Scratch {
    let path: String
    init() {
        var t = Array("/tmp/protfs-cli-XXXXXX".utf8CString)
        path = t.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String, _ content: String? = nil) -> String {
        let p = path + "/" + name
        if let content { FileManager.default.createFile(atPath: p, contents: Data(content.utf8)) }
        return p
    }
}

/// A store initialized with the default policy and a cheap scrypt cost (tests only).
func makeStore(_ s: Scratch) throws -> (store: String, pw: String) {
    let pw = s.file("pw", "correct horse battery staple\n")
    let store = s.path + "/store"
    let r = try CLI.run(["init", store, "--passphrase-file", pw, "--scrypt-log-n", "12"])
    #expect(r.status == 0, "\(r.err)")
    return (store, pw)
}

func bytes(_ path: String) -> [UInt8] { Array(FileManager.default.contents(atPath: path) ?? Data()) }

extension Array where Element == UInt8 {
    func contains(_ needle: [UInt8]) -> Bool {
        guard needle.count <= count else { return false }
        for i in 0...(count - needle.count) where self[i..<(i + needle.count)].elementsEqual(needle) { return true }
        return false
    }
}
