import Foundation
import ProtCrypto

/// What `protfs share` asks the mount daemon for, as the value of the `user.protfs.share` attribute of the
/// file. The daemon decides with the caller's identity as the kernel reports it, never with anything here.
public struct ShareRequest: Codable, Equatable, Sendable {
    public var shareId: String
    public var recipients: [ShareRecipient]
    public var rights: UInt16
    /// Unix nanoseconds; nil for no expiry.
    public var expires: Int64?
    /// nil: tracked when the store runs a key service.
    public var tracked: Bool?
    public var offlineSeconds: Int64
    public var notify: Bool
    public var notifyTo: String?
    /// A descriptor of the calling process, open for writing, that receives the portable copy.
    public var outputFd: Int32?

    public init(
        shareId: String, recipients: [ShareRecipient], rights: UInt16, expires: Int64?, tracked: Bool?,
        offlineSeconds: Int64, notify: Bool, notifyTo: String?, outputFd: Int32?
    ) {
        self.shareId = shareId; self.recipients = recipients; self.rights = rights; self.expires = expires
        self.tracked = tracked; self.offlineSeconds = offlineSeconds; self.notify = notify; self.notifyTo = notifyTo
        self.outputFd = outputFd
    }

    public static let xattr = "user.protfs.share"
    public static let maxBytes = 32 * 1024

    public static func newId() throws -> String { Hex.encode(try Random.bytes(16)) }
}

/// `protfs revoke` through the mount: the `user.protfs.revoke` attribute of the file (or of the mount's root
/// with a share id).
public struct RevokeRequest: Codable, Equatable, Sendable {
    /// nil: every share of the file.
    public var shareId: String?
    /// nil: every recipient.
    public var recipient: String?
    public init(shareId: String?, recipient: String?) { self.shareId = shareId; self.recipient = recipient }
    public static let xattr = "user.protfs.revoke"
}

/// The daemon's answer to a share or revoke request: the value of the request attribute.
public struct ControlAnswer: Codable, Sendable {
    public var ok: Bool
    public var error: String?
    public var shareId: String?
    public var tracked: Bool?
    public var revoked: [String]?

    public init(ok: Bool, error: String? = nil, shareId: String? = nil, tracked: Bool? = nil, revoked: [String]? = nil)
    {
        self.ok = ok; self.error = error; self.shareId = shareId; self.tracked = tracked; self.revoked = revoked
    }
    public static func failure(_ why: String) -> ControlAnswer { ControlAnswer(ok: false, error: why) }
}

/// The mount root's `user.protfs.recipients`: the store's checked public identities, one line each, so that
/// an unprivileged `protfs share` can resolve names without reading the store.
public enum RecipientListing {
    public static let xattr = "user.protfs.recipients"
}
