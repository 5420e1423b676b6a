import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ProtShare

/// Request context that knows the peer's address (for ledger rows) and caps bodies at the request size.
struct KeyRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peer: String
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress.map { a in a.ipAddress.map { "\($0):\(a.port ?? 0)" } ?? "\(a)" } ?? "?"
    }
    var maxUploadSize: Int { KeyRequest.maxBodyBytes }
}

/// The HTTP(S) face of the key service (docs/KEY-SERVICE.md): `POST /v1/key`, `GET /v1/health`.
public struct ServiceServer {
    public let service: KeyService
    public let host: String
    public let port: Int
    public let tls: (cert: String, key: String)?
    /// Called with the bound port once the server listens.
    public let onListening: @Sendable (Int) -> Void

    public init(
        service: KeyService, host: String, port: Int, tls: (cert: String, key: String)?,
        onListening: @escaping @Sendable (Int) -> Void
    ) {
        self.service = service; self.host = host; self.port = port; self.tls = tls; self.onListening = onListening
    }

    /// Blocking work (X25519, a committed ledger row) runs off the event loops and the cooperative pool.
    static let work = DispatchQueue(label: "protfs.keyservice", attributes: .concurrent)

    public func run() async throws {
        let router = Router(context: KeyRequestContext.self)
        let service = self.service
        router.post("/v1/key") { request, context -> Response in
            let body: ByteBuffer
            do { body = try await request.body.collect(upTo: KeyRequest.maxBodyBytes) } catch {
                return Self.json(413, ServiceRefusal(error: "too-large: at most \(KeyRequest.maxBodyBytes) bytes"))
            }
            let bytes = Array(body.readableBytesView)
            let reply = await withCheckedContinuation { (c: CheckedContinuation<KeyService.Reply, Never>) in
                Self.work.async { c.resume(returning: service.answer(body: bytes, address: context.peer)) }
            }
            return Response(
                status: .init(code: reply.status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        }
        router.get("/v1/health") { _, _ -> Response in
            struct Health: Codable { var status = "ok"; var publicKey: String }
            return Self.json(200, Health(publicKey: service.config.publicKey))
        }
        let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .seconds(30)))
        let server: HTTPServerBuilder
        if let tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.cert).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
            server = try .tls(
                http1,
                tlsConfiguration: TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain, privateKey: NIOSSLPrivateKeySource.privateKey(key)))
        } else {
            server = http1
        }
        var logger = Logger(label: "protfs.keyservice")
        logger.logLevel = .warning
        let onListening = self.onListening
        let app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "protfs-keyservice"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }

    static func json<T: Encodable>(_ status: Int, _ value: T) -> Response {
        let data = (try? JSONEncoder().encode(value)) ?? Data()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }
}
