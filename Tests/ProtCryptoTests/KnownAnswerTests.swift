import Testing
@testable import ProtCrypto

private func hex(_ s: String) -> [UInt8] { Hex.decode(s)! }

@Suite struct KnownAnswerTests {
    // NIST GCM spec (McGrew & Viega) test cases 13, 14 and 16: AES-256.
    @Test(arguments: [
        (
            "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "", "",
            "530f8afbc74536b9a963b4f1c4cb738b"
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
            "00000000000000000000000000000000", "", "cea7403d4d606b6e074ec5d3baf39d18",
            "d0d1c8a799996bf0265b98b5d48ab919"
        ),
        (
            "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b"
        )
    ])
    func aes256gcm(key: String, iv: String, pt: String, aad: String, ct: String, tag: String) throws {
        let k = SecureBytes(hex(key))
        let p = hex(pt), a = hex(aad)
        var out = hex(iv) + [UInt8](repeating: 0, count: p.count + AESGCM.tagSize)
        try p.withUnsafeBytes { pp in
            try a.withUnsafeBytes { aa in
                try out.withUnsafeMutableBytes { try AESGCM.sealWithNonce(key: k, plaintext: pp, aad: aa, into: $0) }
            }
        }
        #expect(Hex.encode(out) == iv + ct + tag)
        let opened = try AESGCM.openKeyOrEmpty(key: k, sealed: out, aad: a)
        #expect(opened == p)
        // Any flipped bit in nonce, ciphertext, tag or AAD must fail.
        for i in 0..<out.count {
            var bad = out; bad[i] ^= 0x01
            #expect(throws: CryptoError.authenticationFailed) { try AESGCM.openKeyOrEmpty(key: k, sealed: bad, aad: a) }
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try AESGCM.openKeyOrEmpty(key: k, sealed: out, aad: a + [0])
        }
    }

    @Test func hkdfRFC5869Case1() throws {
        let okm = try KDF.hkdf(
            key: SecureBytes([UInt8](repeating: 0x0b, count: 22)),
            salt: hex("000102030405060708090a0b0c"), info: hex("f0f1f2f3f4f5f6f7f8f9"), length: 42)
        #expect(
            Hex.encode(okm.exportBytes())
                == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }

    @Test func scryptRFC7914() throws {
        let a = try KDF.scrypt(password: [], salt: [], params: .init(logN: 4, r: 1, p: 1), length: 64)
        #expect(
            Hex.encode(a.exportBytes())
                == "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906"
        )
        let b = try KDF.scrypt(
            password: Array("password".utf8), salt: Array("NaCl".utf8), params: .init(logN: 10, r: 8, p: 16), length: 64
        )
        #expect(
            Hex.encode(b.exportBytes())
                == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        )
    }

    @Test func x25519RFC7748() throws {
        let alice = SecureBytes(hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
        let bob = SecureBytes(hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
        #expect(
            Hex.encode(try X25519.publicKey(forPrivate: alice))
                == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(
            Hex.encode(try X25519.publicKey(forPrivate: bob))
                == "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        let shared = try X25519.sharedSecret(privateKey: alice, peerPublicKey: try X25519.publicKey(forPrivate: bob))
        #expect(Hex.encode(shared.exportBytes()) == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    }

    @Test func hmacRFC4231Case2() throws {
        let mac = try Digest.hmacSHA256(
            key: SecureBytes(Array("Jefe".utf8)), data: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func sha256Abc() {
        #expect(
            Hex.encode(Digest.sha256(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}

@Suite struct KeyWrapTests {
    @Test func x25519WrapRoundTripAndWrongRecipient() throws {
        let bob = try X25519.generate(), eve = try X25519.generate()
        let fileKey = try SecureBytes.random(count: 32)
        let ctx = Array("file-id".utf8)
        let wrapped = try X25519.wrap(fileKey, to: bob.publicKey, context: ctx)
        #expect(
            try X25519.unwrap(wrapped, privateKey: bob.privateKey, context: ctx).exportBytes() == fileKey.exportBytes())
        #expect(throws: CryptoError.authenticationFailed) {
            try X25519.unwrap(wrapped, privateKey: eve.privateKey, context: ctx)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try X25519.unwrap(wrapped, privateKey: bob.privateKey, context: ctx + [1])
        }
    }

    @Test func constantTimeCompare() {
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
    }

    @Test func contextsAreNotSharedAcrossThreadsAndKeysSwitch() async throws {
        // Several threads alternating between keys must each get correct results.
        let keys = try (0..<3).map { _ in try SecureBytes.random(count: 32) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<500 {
                        let k = keys[(i + t) % keys.count]
                        let msg = [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 100 + i % 50)
                        let sealed = try AESGCM.seal(key: k, plaintext: msg, aad: [UInt8(t)])
                        #expect(try AESGCM.openKeyOrEmpty(key: k, sealed: sealed, aad: [UInt8(t)]) == msg)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

extension AESGCM {
    /// Test helper: opens into an array, allowing empty plaintexts.
    static func openKeyOrEmpty(key: SecureBytes, sealed: [UInt8], aad: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(0, sealed.count - overhead))
        try sealed.withUnsafeBytes { s in
            try aad.withUnsafeBytes { a in
                try out.withUnsafeMutableBytes { try open(key: key, sealed: s, aad: a, into: $0) }
            }
        }
        return out
    }
}
