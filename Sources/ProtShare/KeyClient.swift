import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Asks a key service for a content key: one HTTP(S) POST with a timeout; refusals come back as the
/// service's reason so the recipient reads why (revoked, expired, not a recipient).
public struct KeyClient: Sendable {
    public var timeout: TimeInterval
    public init(timeout: TimeInterval = 10) { self.timeout = timeout }

    public func requestKey(url base: String, request: KeyRequest) throws -> KeyAnswer {
        guard let url = URL(string: base.hasSuffix("/") ? base + "v1/key" : base + "/v1/key"),
            url.scheme == "http" || url.scheme == "https"
        else { throw ShareError.service("bad service address \(base)") }
        var req = URLRequest(url: url, timeoutInterval: timeout)
        req.httpMethod = "POST"
        req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        req.httpBody = try JSONEncoder().encode(request)
        let (status, body) = try Self.send(req)
        if status == 200 {
            guard let a = try? JSONDecoder().decode(KeyAnswer.self, from: body) else {
                throw ShareError.service("unreadable answer")
            }
            return a
        }
        let reason = (try? JSONDecoder().decode(ServiceRefusal.self, from: body))?.error ?? "HTTP \(status)"
        // Reasons read "code: explanation"; the error's own wording already names the code.
        let code = reason.prefix { $0 != ":" }
        let why =
            reason.contains(":")
            ? String(reason.drop { $0 != ":" }.dropFirst()).trimmingCharacters(in: .whitespaces) : reason
        switch status {
        case 403 where code == "revoked": throw ShareError.revoked(why)
        case 403 where code == "expired": throw ShareError.expired(why)
        case 403: throw ShareError.notARecipient(why)
        default: throw ShareError.service("\(reason) (HTTP \(status))")
        }
    }

    /// One synchronous request; URLSession's completion runs on its own queue.
    static func send(_ request: URLRequest) throws -> (Int, Data) {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<(Int, Data), Error> = .failure(ShareError.service("no answer"))
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                result = .failure(
                    ShareError.service(
                        "unreachable at \(request.url?.absoluteString ?? "?"): \(error.localizedDescription)"))
            } else {
                result = .success(((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
            }
            done.signal()
        }
        task.resume()
        done.wait()
        return try result.get()
    }
}
