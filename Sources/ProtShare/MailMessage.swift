import Foundation

/// RFC 5322 messages with MIME (RFC 2045/2046): the share mail with its `.pfs` attachment and the owner's
/// open notifications. Header values are kept to printable ASCII; CR/LF never pass through from input.
public struct MailMessage {
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String
    public var headers: [(String, String)] = []
    public var attachment: (name: String, contentType: String, bytes: [UInt8])?

    public init(from: String, to: [String], subject: String, text: String) {
        self.from = from; self.to = to; self.subject = subject; self.text = text
    }

    static func clean(_ s: String) -> String {
        String(s.unicodeScalars.map { ($0.value >= 0x20 && $0.value < 0x7F) ? Character($0) : "?" })
    }

    static func date(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return f.string(from: d)
    }

    public func rendered(date: Date = Date()) -> String {
        var h: [String] = [
            "From: \(Self.clean(from))",
            "To: \(to.map(Self.clean).joined(separator: ", "))",
            "Subject: \(Self.clean(subject))",
            "Date: \(Self.date(date))",
            "Message-ID: <\(UUID().uuidString.lowercased())@protfs>",
            "MIME-Version: 1.0"
        ]
        h += headers.map { "\(Self.clean($0.0)): \(Self.clean($0.1))" }
        let body = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        guard let a = attachment else {
            h += ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
            return h.joined(separator: "\r\n") + "\r\n\r\n" + body + "\r\n"
        }
        let boundary = "protfs-" + UUID().uuidString.lowercased()
        h.append("Content-Type: multipart/mixed; boundary=\"\(boundary)\"")
        var out = h.joined(separator: "\r\n") + "\r\n\r\nThis is a MIME message.\r\n"
        out +=
            "--\(boundary)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
            + "8bit\r\n\r\n\(body)\r\n"
        let name = Self.clean(a.name).replacingOccurrences(of: "\"", with: "'")
        out += "--\(boundary)\r\nContent-Type: \(a.contentType); name=\"\(name)\"\r\n"
        out += "Content-Disposition: attachment; filename=\"\(name)\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        let b64 = Data(a.bytes).base64EncodedString()
        var i = b64.startIndex
        while i < b64.endIndex {
            let j = b64.index(i, offsetBy: 76, limitedBy: b64.endIndex) ?? b64.endIndex
            out += b64[i..<j] + "\r\n"
            i = j
        }
        return out + "--\(boundary)--\r\n"
    }
}
