import ArgumentParser
import Foundation
import Glibc
import ProtLedger
import ProtService
import ProtShare
import ProtStore

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract:
            "Run the store's key service: answers recipients of tracked shares, logs every open, notifies owners.",
        discussion: """
            The first start creates the service's key pair (its private key sealed under the store's master key) and \
            records the address recipients use (--url, default from --listen); shares made afterwards are tracked. \
            API: POST /v1/key, GET /v1/health (docs/KEY-SERVICE.md). Stops on SIGTERM or SIGINT.
            """)

    @Argument(help: "The store directory.") var store: String
    @Option(help: "Address to listen on, HOST:PORT (port 0 picks a free one).") var listen: String = "127.0.0.1:7443"
    @Option(help: "Address recipients use to reach this service (recorded in the store; default from --listen).")
    var url: String?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve HTTPS.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.") var tlsKey: String?
    @Option(
        name: .customLong("notify-command"),
        help:
            ArgumentHelp(
                "Command that gets each notification as an RFC 5322 message on stdin (recorded; default 'sendmail -t' "
                    + "when present).")
    ) var notifyCommand: String?
    @Option(name: .customLong("notify-webhook"), help: "URL that gets each notification as a JSON POST (recorded).")
    var notifyWebhook: String?
    @Option(name: .customLong("notify-from"), help: "From address of notification mails (recorded).") var notifyFrom:
        String?
    @Option(
        name: .customLong("rate-limit"),
        help: "Key requests per second per identity (bursts of twice that); 0 for none.") var rateLimit: Double = 10
    @Option(name: .customLong("ready-file"), help: "Write the service's URL to this file once it listens.")
    var readyFile: String?
    @OptionGroup var credentials: CredentialOptions

    var hostPort: (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        return (String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    func validate() throws {
        if hostPort == nil { throw ValidationError("--listen: expected HOST:PORT, got '\(listen)'") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if rateLimit < 0 { throw ValidationError("--rate-limit must be 0 or more") }
        if let w = notifyWebhook, URL(string: w)?.scheme.map({ $0 == "http" || $0 == "https" }) != true {
            throw ValidationError("--notify-webhook: not an http(s) URL")
        }
    }

    func run() throws {
        let root = Actor.absolute(store)
        let s = try credentials.unlock(root)
        let (host, port) = hostPort!
        let scheme = tlsCert == nil ? "http" : "https"
        var config = try ServiceConfig.load(s) ?? ServiceConfig.create(s, url: url ?? "\(scheme)://\(host):\(port)")
        if let url { config.url = url }
        if let c = notifyCommand { config.notifyCommand = c.split(separator: " ").map(String.init) }
        if let w = notifyWebhook { config.notifyWebhook = w }
        if let f = notifyFrom { config.notifyFrom = f }
        try config.save(s)

        let ledger = try s.openLedger()
        defer { ledger.close() }
        let command = config.notifyCommand ?? (Self.onPath("sendmail") ? ServiceConfig.defaultNotifyCommand : nil)
        let notifier = Notifier(
            command: command, webhook: config.notifyWebhook.flatMap(URL.init(string:)),
            from: config.notifyFrom ?? "protfs@\(hostName())", ledger: ledger)
        let service = try KeyService(
            store: s, ledger: ledger, config: config, notifier: notifier, ratePerSecond: rateLimit)
        let derivedURL = url == nil
        let ready = readyFile
        let settled = config
        let server = ServiceServer(service: service, host: host, port: port, tls: tlsCert.map { ($0, tlsKey!) }) {
            bound in
            var c = settled
            if derivedURL && port == 0 {
                c.url = "\(scheme)://\(host):\(bound)"
                Self.warnOnFailure("saving the service URL") { try c.save(s) }
            }
            Self.warnOnFailure("ledger") {
                _ = try ledger.append(
                    Actor.event(.service, detail: "key service listening on \(c.url) (key \(c.publicKey.prefix(16)))"))
            }
            Out.warn("key service for \(root) listening on \(c.url)")
            if let ready {
                Self.warnOnFailure("writing \(ready)") {
                    try AtomicFile.write(Array((c.url + "\n").utf8), to: ready, mode: 0o644)
                }
            }
        }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        // Handed to the task and not touched here again until it has finished (`done`).
        nonisolated(unsafe) let running = server
        Task {
            do { try await running.run() } catch { failure = error }
            done.signal()
        }
        done.wait()
        Self.warnOnFailure("ledger") { _ = try ledger.append(Actor.event(.service, detail: "key service stopped")) }
        if let failure { throw CommandFailure("key service: \(failure)") }
    }

    /// The service keeps running when a side record cannot be written, but says so.
    static func warnOnFailure(_ what: String, _ body: () throws -> Void) {
        do { try body() } catch { Out.warn("\(what): \(error)") }
    }

    static func onPath(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":")
            .contains { Glibc.access("\($0)/\(name)", X_OK) == 0 }
    }
}
