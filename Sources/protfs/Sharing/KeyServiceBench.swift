import Synchronization
import ArgumentParser
import Foundation
import Glibc
import ProtCrypto
import ProtShare
import ProtStore

/// `protfs bench key-service`: a bounded load on a running key service from this (second) process, over
/// keep-alive HTTP/1.1 connections, every request freshly signed; prints throughput and latency percentiles.
struct KeyServiceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key-service",
        abstract: "Load a key service with signed key requests for one tracked share; report errors and latency.")

    @Argument(help: "A tracked portable copy (.pfs) shared with --identity.") var file: String
    @Option(help: "The recipient's private identity file.") var identity: String
    @Option(help: "Total key requests.") var requests: Int = 10_000
    @Option(help: "Concurrent clients, one keep-alive connection each.") var clients: Int = 50
    @Option(help: "Requests sent (by all clients) before the clock starts, not counted; 0 to measure a cold start.")
    var warmup: Int = 0

    func validate() throws {
        if requests < 1 || clients < 1 || warmup < 0 {
            throw ValidationError("--requests and --clients must be positive, --warmup 0 or more")
        }
    }

    func run() throws {
        let me = try PrivateIdentity.load(identity)
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw CommandFailure("\(file): \(String(cString: strerror(errno)))") }
        let env = try PortableCopy.parse(fd: fd, name: file).envelope
        close(fd)
        guard let service = env.service, let pub = Hex.decode(service.publicKey), let url = URL(string: service.url),
            url.scheme == "http", let host = url.host, let port = url.port
        else {
            throw CommandFailure("\(file) is not a tracked share with an http:// key service")
        }
        Out.warn("signing \(requests) requests for share \(env.shareId) ...")
        let all = try (0..<(warmup + requests)).map { _ in
            Array(
                try JSONEncoder().encode(
                    try KeyRequest.signed(shareId: env.shareId, privateKey: me.privateKey, servicePublicKey: pub)))
        }
        if warmup > 0,
            load(Array(all.prefix(warmup)), host: host, port: port).statuses.keys.contains(where: { $0 != 200 })
        {
            throw CommandFailure("the warm-up requests were not all answered with 200")
        }
        let bodies = Array(all.dropFirst(warmup))
        let started = Date()
        let results = load(bodies, host: host, port: port)
        let wall = Date().timeIntervalSince(started)
        var latencies = results.latencies
        let statuses = results.statuses, sample = results.sample
        // Answers are checked after the clock stops: each must unwrap to the content key for its own nonce.
        var unwrapped = 0
        for (i, body) in sample {
            let req = try JSONDecoder().decode(KeyRequest.self, from: Data(bodies[i]))
            let a = try JSONDecoder().decode(KeyAnswer.self, from: Data(body))
            if a.unwrap(privateKey: me.privateKey, shareId: env.shareId, nonce: req.nonce) != nil { unwrapped += 1 }
        }
        latencies.sort()
        func pct(_ p: Double) -> String {
            String(format: "%.2f", latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))])
        }
        let errors = statuses.filter { $0.key != 200 }.values.reduce(0, +)
        Out.line(
            "key service \(service.url): \(requests) requests (after \(warmup) warm-up), \(clients) clients, "
                + "\(String(format: "%.2f", wall)) s, \(Int(Double(requests) / wall)) requests/s"
        )
        Out.line(
            "status counts: "
                + statuses.sorted { $0.key < $1.key }.map {
                    "\($0.key == -1 ? "connection-error" : String($0.key))=\($0.value)"
                }.joined(separator: " "))
        Out.line("latency ms: p50 \(pct(0.50))  p90 \(pct(0.90))  p99 \(pct(0.99))  max \(pct(1.0))")
        Out.line("answers checked: \(unwrapped)/\(sample.count) unwrap with the recipient's key")
        if errors > 0 || unwrapped != sample.count { throw ExitCode.failure }
    }

    /// Sends every body once, from `clients` threads sharing the list; per-request latency and status.
    func load(_ bodies: [[UInt8]], host: String, port: Int) -> Results {
        let next = Counter()
        let results = Results()
        // One thread per client (concurrentPerform would run only as many as there are cores).
        let group = DispatchGroup()
        for _ in 0..<clients {
            group.enter()
            Thread {
                defer { group.leave() }
                var conn: HTTPConnection? = nil
                var mine: [Double] = [], myStatus: [Int: Int] = [:], mySample: [(Int, [UInt8])] = []
                while true {
                    let i = next.take()
                    if i >= bodies.count { break }
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    if conn == nil { conn = HTTPConnection(host: host, port: port) }
                    let status: Int, body: [UInt8]
                    if let c = conn, let r = c.post("/v1/key", host: "\(host):\(port)", body: bodies[i]) {
                        (status, body) = r
                    } else {
                        (status, body) = (-1, []); conn = nil
                    }
                    mine.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                    myStatus[status, default: 0] += 1
                    if i % 100 == 0 && status == 200 { mySample.append((i, body)) }
                }
                results.add(mine, myStatus, mySample)
            }.start()
        }
        group.wait()
        return results
    }
}

final class Results: Sendable {
    private let all = Mutex<(latencies: [Double], statuses: [Int: Int], sample: [(Int, [UInt8])])>(([], [:], []))
    var latencies: [Double] { all.withLock { $0.latencies } }
    var statuses: [Int: Int] { all.withLock { $0.statuses } }
    var sample: [(Int, [UInt8])] { all.withLock { $0.sample } }
    func add(_ l: [Double], _ s: [Int: Int], _ sm: [(Int, [UInt8])]) {
        all.withLock { a in
            a.latencies += l; a.sample += sm
            for (k, v) in s { a.statuses[k, default: 0] += v }
        }
    }
}

final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

/// One keep-alive HTTP/1.1 connection over a plain socket: POST with Content-Length, read the answer.
final class HTTPConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init?(host: String, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_INET; hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var res: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &res) == 0, let ai = res else { return nil }
        defer { freeaddrinfo(res) }
        fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, 0)
        guard fd >= 0 else { return nil }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        guard connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 else { close(fd); return nil }
    }

    deinit { close(fd) }

    func post(_ path: String, host: String, body: [UInt8]) -> (Int, [UInt8])? {
        let head =
            "POST \(path) HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nContent-Length: "
            + "\(body.count)\r\n\r\n"
        let msg = Array(head.utf8) + body
        var sent = 0
        while sent < msg.count {
            let n = msg.withUnsafeBytes { send(fd, $0.baseAddress! + sent, msg.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return nil }
            sent += n
        }
        let sep = Array("\r\n\r\n".utf8)
        var headerEnd: Int? = nil
        while headerEnd == nil {
            headerEnd = buffer.firstRange(of: sep)?.upperBound
            if headerEnd == nil { guard fill() else { return nil } }
        }
        let headers = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        guard let statusText = headers.split(separator: " ").dropFirst().first, let status = Int(statusText) else {
            return nil
        }
        let length =
            headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        while buffer.count < headerEnd! + length { guard fill() else { return nil } }
        let body = Array(buffer[headerEnd!..<(headerEnd! + length)])
        buffer.removeFirst(headerEnd! + length)
        return (status, body)
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer += chunk[0..<n]
        return true
    }
}
