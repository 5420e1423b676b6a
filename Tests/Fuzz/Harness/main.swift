import Foundation
import ProtContainer
import ProtPolicy
import ProtShare

// protfs-fuzz TARGET [libFuzzer arguments | input files]
// Targets: header (container header parser), policy (YAML policy loader), detectors (content scanner,
// which must also give the same counts however the input is cut into chunks), share (the trailer of a
// portable copy, then the header of the container it delimits).
// Built with -sanitize=fuzzer, libFuzzer drives it; built plainly, it replays the given files once.

nonisolated(unsafe) var target = ""
let detectorSet = try! DetectorSet(DetectorDefinition.builtins)

func runOne(_ data: UnsafeRawBufferPointer) {
    switch target {
    case "header":
        var region = [UInt8](repeating: 0, count: Layout.headerSize)
        region.withUnsafeMutableBytes {
            $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: data.prefix(Layout.headerSize)))
        }
        _ = Container.peek(headerRegion: region)
    case "policy":
        _ = try? PolicyLoader.parse(yaml: String(decoding: data, as: UTF8.self), file: "fuzz.yaml")
    case "detectors":
        let whole = ContentScanner(detectorSet)
        whole.feed(data)
        let cut = ContentScanner(detectorSet)
        var at = 0, step = 1
        while at < data.count {
            let n = min(step, data.count - at)
            cut.feed(UnsafeRawBufferPointer(rebasing: data[at..<(at + n)]))
            at += n
            step = step * 3 % 1021 + 1
        }
        let a = whole.finish(), b = cut.finish()
        if a != b { fatalError("detector counts depend on chunking: \(a) vs \(b)") }
    case "share":
        let bytes = Array(data)
        let parsed = try? PortableCopy.parse(size: UInt64(bytes.count), name: "fuzz.pfs") { offset, count in
            guard offset <= UInt64(bytes.count), count <= bytes.count - Int(offset) else { return nil }
            return Array(bytes[Int(offset)..<(Int(offset) + count)])
        }
        if let p = parsed {
            precondition(p.containerLength >= UInt64(Layout.headerSize) && p.containerLength <= UInt64(bytes.count))
            _ = Container.peek(headerRegion: Array(bytes[0..<Layout.headerSize]))
        }
    default:
        fatalError("unknown target \(target)")
    }
}

let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { p, n in
    runOne(UnsafeRawBufferPointer(start: p, count: n))
    return 0
}

typealias Driver =
    @convention(c) (
        UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
        @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32

var args = CommandLine.arguments
guard args.count >= 2, ["header", "policy", "detectors", "share"].contains(args[1]) else {
    FileHandle.standardError.write(
        Data("usage: protfs-fuzz header|policy|detectors|share [libFuzzer args | files]\n".utf8))
    exit(2)
}
target = args.remove(at: 1)
if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "LLVMFuzzerRunDriver") {
    let driver = unsafeBitCast(sym, to: Driver.self)
    var argc = Int32(args.count)
    var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    let code = cargs.withUnsafeMutableBufferPointer { buf -> Int32 in
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buf.baseAddress
        return driver(&argc, &argv, callback)
    }
    exit(code)
}
// Replay: every file given, and every file in directories given.
var count = 0
for path in args.dropFirst() {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
    let files =
        isDir.boolValue
        ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
    for f in files {
        guard let d = FileManager.default.contents(atPath: f) else { continue }
        d.withUnsafeBytes { runOne($0) }
        count += 1
    }
}
print("protfs-fuzz \(target): replayed \(count) inputs, no crash")
