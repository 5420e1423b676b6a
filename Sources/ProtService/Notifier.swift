import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import ProtLedger
import ProtPolicy
import ProtShare

/// Tells a share's owner about every attempt to open it, by the store's notification command (an RFC 5322
/// message on stdin) and/or a webhook (a JSON POST). Runs on its own queue: a slow or failing channel
/// delays notifications, never an answer. Failures are ledger rows and are retried with backoff.
public final class Notifier: Sendable {
    let command: [String]?
    let webhook: URL?
    let from: String
    let ledger: Ledger
    let queue = DispatchQueue(label: "protfs.notifier")
    static let retryDelays: [Double] = [1, 2, 4, 8]

    public init(command: [String]?, webhook: URL?, from: String, ledger: Ledger) {
        self.command = command; self.webhook = webhook; self.from = from; self.ledger = ledger
    }

    public struct Event: Codable, Sendable {
        public var event = "share-open"
        public var shareId: String
        public var file: String
        public var recipient: String
        public var address: String
        public var allowed: Bool
        public var reason: String?
        public var time: String
        public var owner: String
    }

    func opened(
        _ record: ShareRecord, recipient: ShareRecipient, address: String, allowed: Bool, reason: String?, at: Int64
    ) {
        guard record.notify else { return }
        let e = Event(
            shareId: record.id, file: record.path,
            recipient: recipient.name + (recipient.email.map { " <\($0)>" } ?? ""),
            address: address, allowed: allowed, reason: reason, time: isoTime(at),
            owner: record.notifyTo ?? record.sharer)
        queue.async { self.deliver(e, attempt: 0) }
    }

    func message(_ e: Event) -> MailMessage {
        var m = MailMessage(
            from: from, to: [e.owner],
            subject:
                "protfs: \(e.recipient) \(e.allowed ? "opened" : "was refused") "
                + "\((e.file as NSString).lastPathComponent)",
            text: """
                \(e.recipient) \(e.allowed ? "opened" : "tried to open") \(e.file), which you shared.
                When: \(e.time)
                From: \(e.address)
                Outcome: \(e.allowed ? "allowed" : "refused (\(e.reason ?? "?"))")
                Share: \(e.shareId)

                To stop further access: protfs revoke \(e.shareId)
                """)
        m.headers = [("X-Protfs-Share", e.shareId), ("X-Protfs-Event", e.allowed ? "allowed" : "denied")]
        return m
    }

    private func deliver(_ e: Event, attempt: Int) {
        var failures: [String] = []
        if let command {
            do { try Subprocess.run(command, stdin: Array(message(e).rendered().utf8)) } catch {
                failures.append("command: \(error)")
            }
        }
        if let webhook {
            do { try post(e, to: webhook) } catch { failures.append("webhook: \(error)") }
        }
        guard !failures.isEmpty else { return }
        let retry = attempt < Self.retryDelays.count
        let detail =
            "share=\(e.shareId) to=\(e.owner) attempt \(attempt + 1): \(failures.joined(separator: "; "))"
            + (retry ? "; retrying in \(Int(Self.retryDelays[attempt])) s" : "; giving up")
        try? ledger.appendLater(
            LedgerEvent(
                kind: .notify, outcome: .error, process: "key-service", path: Array(e.file.utf8), detail: detail))
        if retry {
            queue.asyncAfter(deadline: .now() + Self.retryDelays[attempt]) { self.deliver(e, attempt: attempt + 1) }
        }
    }

    private func post(_ e: Event, to url: URL) throws {
        var req = URLRequest(url: url, timeoutInterval: 10)
        req.httpMethod = "POST"
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        req.httpBody = try JSONEncoder().encode(e)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: String?
        URLSession.shared.dataTask(with: req) { _, response, error in
            if let error {
                failure = error.localizedDescription
            } else if let code = (response as? HTTPURLResponse)?.statusCode, !(200..<300).contains(code) {
                failure = "HTTP \(code)"
            }
            done.signal()
        }.resume()
        done.wait()
        if let failure { throw Subprocess.Failure(description: failure) }
    }
}
