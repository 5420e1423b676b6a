import Glibc
import ProtCrypto
import ProtSystem

/// Returns the key-encryption key of a label at a key version; thrown errors mean "not available".
public typealias LabelKeyLookup = (_ label: String, _ version: UInt32) throws -> SecureBytes

/// A protected file: random-access reads and writes of plaintext over authenticated, encrypted blocks.
/// One instance per open file; thread-safe (parallel readers, one writer). Unchecked: its mutable fields are
/// guarded by `lock`, an RWLock (readers share it), which a Mutex box cannot express.
public final class Container: @unchecked Sendable {
    public let fd: Int32
    /// Guarded by `lock`: a relabel replaces it while other threads read.
    private(set) var currentFields: HeaderFields
    public let fileId: [UInt8]
    var plaintextSize: UInt64
    private var generation: UInt64
    private var activeSlot: Int
    private var headerMAC: [UInt8]
    /// The content key as wrapped in the active slot: a header rewrite that keeps the label (a new hole) reuses it.
    private(set) var wrappedKey: [UInt8]
    let fileKey: SecureBytes
    let blockKey: SecureBytes
    private let macKey: SecureBytes
    let lock = RWLock()

    /// Blocks sealed and written as one pwrite: 128 KiB of plaintext, so a 1 MiB FUSE write is eight batches,
    /// each sealed while the one before it is copied into the backing file.
    static let batchBlocks = 32

    init(
        fd: Int32, fields: HeaderFields, size: UInt64, generation: UInt64, activeSlot: Int, headerMAC: [UInt8],
        wrappedKey: [UInt8], fileKey: SecureBytes
    ) throws {
        self.fd = fd; self.currentFields = fields; self.fileId = fields.fileId; self.plaintextSize = size;
        self.generation = generation
        self.activeSlot = activeSlot; self.headerMAC = headerMAC; self.wrappedKey = wrappedKey; self.fileKey = fileKey
        blockKey = try FileKeys.blockKey(fileKey, fileId: fields.fileId)
        macKey = try FileKeys.macKey(fileKey, fileId: fields.fileId)
    }

    public var size: UInt64 { lock.reading { plaintextSize } }
    public var fields: HeaderFields { lock.reading { currentFields } }
    /// +1 for each header rewrite: cheaper to compare than the fields, for handles judged on an older header.
    public var headerGeneration: UInt64 { lock.reading { generation } }
    /// The fields and the generation they belong to, read together.
    public var headerSnapshot: (fields: HeaderFields, generation: UInt64) {
        lock.reading { (currentFields, generation) }
    }

    /// Writes a new empty container into `fd` (which must be empty) with a fresh content key wrapped under `kek`.
    public static func create(fd: Int32, fields: HeaderFields, kek: SecureBytes) throws -> Container {
        precondition(fields.fileId.count == 16)
        let fileKey = try SecureBytes.random(count: 32)
        let wrapped = try wrap(fileKey, fields: fields, kek: kek)
        let (image, mac) = try Self.slotImage(fields: fields, wrappedKey: wrapped, generation: 1, fileKey: fileKey)
        let c = try Container(
            fd: fd, fields: fields, size: 0, generation: 1, activeSlot: 0, headerMAC: mac,
            wrappedKey: wrapped, fileKey: fileKey)
        var region = image + [UInt8](repeating: 0, count: Layout.slotSize)
        region += try c.sealBlock(index: 0, plaintext: [], final: true)
        try region.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: 0) }
        // A new file already has this size; a truncate would cost a metadata update for nothing.
        if try FileIO.size(fd) != UInt64(region.count) { try FileIO.truncate(fd, UInt64(region.count)) }
        return c
    }

    /// Opens an existing container: authenticates a header slot and checks that the final block belongs to it.
    public static func open(fd: Int32, keys: @escaping LabelKeyLookup) throws -> Container {
        try openReporting(fd: fd, keys: .labelKeys(keys)).container
    }

    /// Where the content key of a header slot comes from: the store's label keys, or (for a portable copy
    /// opened without the store) a key the caller unwrapped from the slot's fields. Either way the slot's
    /// MAC must then verify under that key.
    public enum KeySource {
        case labelKeys(LabelKeyLookup)
        case fileKey((HeaderFields) throws -> SecureBytes)
    }

    /// Opens a container held in the first `length` bytes of `fd` (a portable copy carries a trailer after it).
    public static func open(fd: Int32, length: UInt64? = nil, keys: KeySource) throws -> Container {
        try openReporting(fd: fd, length: length, keys: keys).container
    }

    /// The two header slots as stored (zero-filled past the end of a short file) and how many bytes were there.
    static func headerRegion(_ fd: Int32) throws -> (bytes: [UInt8], count: Int) {
        var region = [UInt8](repeating: 0, count: Layout.headerSize)
        let got = try region.withUnsafeMutableBytes { try FileIO.preadFull(fd, $0, at: 0) }
        return (region, got)
    }

    /// `open`, also returning what was wrong with a slot that was not used (for fsck).
    static func openReporting(fd: Int32, length: UInt64? = nil, keys: KeySource) throws -> (
        container: Container, slotProblems: [String]
    ) {
        let cipherSize = try length ?? FileIO.size(fd)
        let (region, got) = try headerRegion(fd)
        guard got >= 8,
            Array(region[0..<8]) == Layout.magic || Array(region[Layout.slotSize..<Layout.slotSize + 8]) == Layout.magic
        else {
            throw ContainerError.notAContainer
        }
        guard let size = Layout.plaintextSize(ciphertextSize: cipherSize) else {
            throw ContainerError.invalidLength(cipherSize)
        }
        let (candidates, problems) = try authenticatedSlots(region, keys: keys)
        guard !candidates.isEmpty else { throw ContainerError.corruptHeader("no header slot authenticates") }
        let finalIndex = Layout.blockCount(plaintextSize: size) - 1
        for cand in candidates {
            let c = try Container(
                fd: fd, fields: cand.slot.fields, size: size, generation: cand.slot.generation,
                activeSlot: cand.index, headerMAC: cand.slot.mac, wrappedKey: cand.slot.wrappedKey,
                fileKey: cand.fileKey)
            if (try? c.readBlock(finalIndex)) != nil { return (c, problems) }
        }
        throw ContainerError.tailMismatch(finalIndex)
    }

    struct Candidate { let index: Int; let slot: HeaderSlot; let fileKey: SecureBytes }

    /// Parses and authenticates both slots. Valid ones come back newest first; problems with the others are listed.
    static func authenticatedSlots(_ region: [UInt8], keys: KeySource) throws -> (
        candidates: [Candidate], problems: [String]
    ) {
        var found: [Candidate] = [], problems: [String] = []
        var firstHardError: ContainerError?
        for i in 0..<Layout.slotCount {
            let bytes = Array(region[(i * Layout.slotSize)..<((i + 1) * Layout.slotSize)])
            do {
                guard let (slot, signed) = try HeaderSlot.parse(bytes) else { continue }
                let f = slot.fields
                let fileKey: SecureBytes
                switch keys {
                case .labelKeys(let lookup):
                    let kek: SecureBytes
                    do { kek = try lookup(f.labelId, f.labelKeyVersion) } catch {
                        throw ContainerError.keyUnavailable(
                            "label '\(f.labelId)' key version \(f.labelKeyVersion): \(error)")
                    }
                    fileKey = try AESGCM.openKey(
                        key: kek, sealed: slot.wrappedKey,
                        aad: FileKeys.wrapAAD(fileId: f.fileId, label: f.labelId, version: f.labelKeyVersion))
                case .fileKey(let unwrap):
                    // A slot this caller holds no key for is one that does not authenticate (the other may).
                    fileKey = try unwrap(f)
                }
                let mac = try Digest.hmacSHA256(key: try FileKeys.macKey(fileKey, fileId: f.fileId), data: signed)
                guard ConstantTime.equal(mac, slot.mac) else { throw CryptoError.authenticationFailed }
                found.append(Candidate(index: i, slot: slot, fileKey: fileKey))
            } catch let e as ContainerError where e == .notAContainer || e.isUnsupportedVersion {
                firstHardError = firstHardError ?? e
                problems.append("header slot \(i): \(e)")
            } catch let e as ContainerError {
                if case .keyUnavailable = e { throw e }
                problems.append("header slot \(i): \(e)")
            } catch {
                problems.append("header slot \(i): authentication failed")
            }
        }
        if found.isEmpty, let hard = firstHardError { throw hard }
        if found.count == 2, found[0].slot.fields.fileId != found[1].slot.fields.fileId {
            throw ContainerError.corruptHeader("header slots name different files")
        }
        return (found.sorted { $0.slot.generation > $1.slot.generation }, problems)
    }

    // MARK: reading

    /// Reads up to `buffer.count` bytes at `offset`; returns the number read (0 at or past the end).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws -> Int {
        try lock.reading {
            guard offset < plaintextSize, buffer.count > 0 else { return 0 }
            let end = min(plaintextSize, offset + UInt64(buffer.count))
            let B = UInt64(Layout.blockSize)
            let first = offset / B, last = (end - 1) / B
            let nBlocks = Int(last - first + 1)
            let cipherLen = Int(sealedLength(last)) + (nBlocks - 1) * Layout.sealedBlockSize
            var cipher = [UInt8](unsafeUninitializedCapacity: cipherLen) { _, n in n = cipherLen }
            try cipher.withUnsafeMutableBytes { c in
                guard try FileIO.preadFull(fd, c, at: Layout.blockOffset(first)) == cipherLen else {
                    throw ContainerError.invalidLength(try FileIO.size(fd))
                }
            }
            var scratch = [UInt8](repeating: 0, count: Layout.blockSize)
            try cipher.withUnsafeBytes { c in
                for k in 0..<nBlocks {
                    let idx = first + UInt64(k)
                    let blockStart = idx * B
                    let sealedLen = Int(sealedLength(idx))
                    let sealed = UnsafeRawBufferPointer(
                        rebasing: c[(k * Layout.sealedBlockSize)..<(k * Layout.sealedBlockSize + sealedLen)])
                    let plainLen = sealedLen - AESGCM.overhead
                    let from = max(offset, blockStart), to = min(end, blockStart + UInt64(plainLen))
                    let dst = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(from - offset)..<Int(to - offset)])
                    if isUnwritten(idx, sealed) {
                        dst.initializeMemory(as: UInt8.self, repeating: 0)
                    } else if from == blockStart && to == blockStart + UInt64(plainLen) {
                        try openBlock(idx, sealed: sealed, into: dst)
                    } else {
                        try scratch.withUnsafeMutableBytes { s in
                            let sp = UnsafeMutableRawBufferPointer(rebasing: s[0..<plainLen])
                            try openBlock(idx, sealed: sealed, into: sp)
                            dst.copyMemory(
                                from: UnsafeRawBufferPointer(
                                    rebasing: sp[Int(from - blockStart)..<Int(to - blockStart)]))
                        }
                    }
                }
            }
            return Int(end - offset)
        }
    }

    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let n = try out.withUnsafeMutableBytes { try read(into: $0, at: offset) }
        out.removeLast(count - n)
        return out
    }

    var finalIndex: UInt64 { Layout.blockCount(plaintextSize: plaintextSize) - 1 }

    /// The first plaintext offset at or after `offset` that may hold data, skipping the backing file's holes
    /// (SEEK_DATA): a scan of a sparse file then costs what was written, not its size. A 15 TiB truncated file
    /// would otherwise keep a worker decrypting zeros for hours at the close that classifies it.
    public func nextData(from offset: UInt64) -> UInt64 {
        lock.reading {
            let B = UInt64(Layout.blockSize)
            guard offset < plaintextSize else { return offset }
            let at = Int64(lseek(fd, off_t(Layout.blockOffset(offset / B)), FileIO.seekData))
            // The final block is always written, so data is found; an error means "do not skip".
            guard at >= Layout.blockOffset(0) else { return offset }
            let block = UInt64(at - Layout.blockOffset(0)) / UInt64(Layout.sealedBlockSize)
            return block * B > offset ? block * B : offset
        }
    }

    func sealedLength(_ index: UInt64) -> UInt64 {
        index < finalIndex ? UInt64(Layout.sealedBlockSize) : plaintextSize - index * UInt64(Layout.blockSize) + 28
    }

    private func openBlock(_ index: UInt64, sealed: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer)
        throws
    {
        let aad = FileKeys.blockAAD(fileId: fileId, index: index, finalFor: index == finalIndex ? headerMAC : nil)
        do {
            try aad.withUnsafeBytes { try AESGCM.open(key: blockKey, sealed: sealed, aad: $0, into: out) }
        } catch CryptoError.authenticationFailed {
            throw index == finalIndex ? ContainerError.tailMismatch(index) : ContainerError.corruptBlock(index)
        }
    }

    /// Reads and authenticates one whole block under the current size.
    func readBlock(_ index: UInt64) throws -> [UInt8] {
        let len = Int(sealedLength(index))
        var sealed = [UInt8](repeating: 0, count: len)
        try sealed.withUnsafeMutableBytes { s in
            guard try FileIO.preadFull(fd, s, at: Layout.blockOffset(index)) == len else {
                throw ContainerError.corruptBlock(index)
            }
        }
        var plain = [UInt8](repeating: 0, count: len - AESGCM.overhead)
        try sealed.withUnsafeBytes { s in
            if isUnwritten(index, s) { return }
            try plain.withUnsafeMutableBytes { try openBlock(index, sealed: s, into: $0) }
        }
        return plain
    }

    /// A block in one of the header's hole ranges whose sealed bytes are all zero: never written, reads as
    /// zeros. The final block is always written (it binds the header), so it never counts as a hole.
    func isUnwritten(_ index: UInt64, _ sealed: UnsafeRawBufferPointer) -> Bool {
        let holes = currentFields.holes
        guard !holes.isEmpty, index != finalIndex, holes.contains(where: { $0.contains(index) }) else { return false }
        return Self.isAllZero(sealed)
    }

    /// memcmp against a zero block: a byte loop made fsck of a 1 GiB hole take 20 s in a debug build.
    static func isAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count <= zeroBlock.count else { return bytes.allSatisfy { $0 == 0 } }
        return zeroBlock.withUnsafeBytes { memcmp(base, $0.baseAddress!, bytes.count) } == 0
    }

    private static let zeroBlock = [UInt8](repeating: 0, count: Layout.sealedBlockSize)

    func sealBlock(index: UInt64, plaintext: [UInt8], final: Bool) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + AESGCM.overhead)
        try plaintext.withUnsafeBytes { p in
            try out.withUnsafeMutableBytes { try sealBlock(index: index, plaintext: p, final: final, into: $0) }
        }
        return out
    }

    func sealBlock(
        index: UInt64, plaintext: UnsafeRawBufferPointer, final: Bool, into out: UnsafeMutableRawBufferPointer
    ) throws {
        let aad = FileKeys.blockAAD(fileId: fileId, index: index, finalFor: final ? headerMAC : nil)
        try aad.withUnsafeBytes { try AESGCM.seal(key: blockKey, plaintext: plaintext, aad: $0, into: out) }
    }

    // MARK: header

    static func wrap(_ fileKey: SecureBytes, fields: HeaderFields, kek: SecureBytes) throws -> [UInt8] {
        try AESGCM.seal(
            key: kek, plaintext: fileKey.exportBytes(),
            aad: FileKeys.wrapAAD(fileId: fields.fileId, label: fields.labelId, version: fields.labelKeyVersion))
    }

    /// Bytes left in a header slot's body with these fields (negative: they do not fit).
    public static func headerRoom(_ fields: HeaderFields) -> Int {
        let wrapped = [UInt8](repeating: 0, count: AESGCM.overhead + 32)
        return HeaderSlot.maxBody - HeaderSlot.encodeBody(fields, wrappedKey: wrapped).count
    }

    static func slotImage(fields: HeaderFields, wrappedKey: [UInt8], generation: UInt64, fileKey: SecureBytes) throws
        -> ([UInt8], [UInt8])
    {
        let body = HeaderSlot.encodeBody(fields, wrappedKey: wrappedKey)
        guard body.count <= HeaderSlot.maxBody, fields.grants.count <= 255 else { throw ContainerError.headerFull }
        let flags = fields.holes.isEmpty ? 0 : HeaderSlot.holesFlag
        let signed = HeaderSlot.signedBytes(body: body, generation: generation, flags: flags)
        let mac = try Digest.hmacSHA256(key: try FileKeys.macKey(fileKey, fileId: fields.fileId), data: signed)
        return (HeaderSlot.image(signed: signed, mac: mac), mac)
    }

    /// Replaces the header (relabel, grants, owner) without touching content: the content key is rewrapped under
    /// `kek`, the new header goes to the inactive slot, then the final block is resealed against it.
    /// Until that last write lands, the old header and final block still agree, so a crash leaves one valid pair.
    public func rewriteHeader(_ newFields: HeaderFields, kek: SecureBytes) throws {
        try lock.writing {
            precondition(newFields.fileId == fileId, "a header rewrite keeps the file id")
            // Holes are the container's own business: a caller's fields never add or drop one.
            var fields = newFields
            fields.holes = currentFields.holes
            // A relabel is metadata: the content's times stay what they were (ctime records the change).
            var before = stat()
            let haveTimes = fstat(fd, &before) == 0
            defer { if haveTimes { let ts = [before.st_atim, before.st_mtim]; futimens(fd, ts) } }
            try rewriteHeaderLocked(fields, wrappedKey: try Self.wrap(fileKey, fields: fields, kek: kek))
        }
    }

    /// `rewriteHeader` under the writer lock, with the content key already wrapped.
    func rewriteHeaderLocked(_ newFields: HeaderFields, wrappedKey wrapped: [UInt8]) throws {
        let finalPlain = try readBlock(finalIndex)
        let (image, mac) = try Self.slotImage(
            fields: newFields, wrappedKey: wrapped, generation: generation + 1,
            fileKey: fileKey)
        let slot = 1 - activeSlot
        try image.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Int64(slot * Layout.slotSize)) }
        guard fdatasync(fd) == 0 else { throw ContainerError.io("fdatasync", .current) }
        let oldMAC = headerMAC
        headerMAC = mac
        do {
            let sealed = try sealBlock(index: finalIndex, plaintext: finalPlain, final: true)
            try sealed.withUnsafeBytes { try FileIO.pwriteFull(fd, $0, at: Layout.blockOffset(finalIndex)) }
        } catch { headerMAC = oldMAC; throw error }
        currentFields = newFields; generation += 1; activeSlot = slot; wrappedKey = wrapped
    }

    public func sync() throws {
        guard fsync(fd) == 0 else { throw ContainerError.io("fsync", .current) }
    }
}

extension ContainerError {
    var isUnsupportedVersion: Bool { if case .unsupportedVersion = self { return true }; return false }
}
