import Testing
@testable import ProtPolicy

func scan(_ text: String, _ defs: [DetectorDefinition] = DetectorDefinition.builtins) throws -> [String: Int] {
    let s = try ContentScanner(defs)
    s.feed(Array(text.utf8))
    return s.finish()
}

@Suite struct DetectorTests {
    @Test(arguments: [
        "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444",
        "2223003122003222", "378282246310005", "6011111111111117", "3530111333300000", "30569309025904"
    ])
    func cardTruePositives(_ card: String) throws {
        #expect(try scan("pay with \(card), thanks")["credit_card"] == 1)
    }

    @Test(arguments: [
        "4111111111111112",  // Luhn-invalid
        "94111111111111111",  // inside a longer digit run
        "41111111111111111234",  // too long
        "4111 1111-1111 1111",  // mixed separators
        "1234567812345670",  // Luhn-valid but no issuer prefix
        "411111111111",  // too short
        "x4111111111111111",  // glued to a word
        "4111111111111111z",
        "12 4111 1111 1111 1111"  // grouped run that starts earlier
    ])
    func cardNearMisses(_ text: String) throws {
        #expect(try scan(text)["credit_card"] == nil)
    }

    @Test func iban() throws {
        #expect(try scan("IBAN DE89370400440532013000.")["iban"] == 1)
        #expect(try scan("GB82 WEST 1234 5698 7654 32 EUR")["iban"] == 1)
        #expect(try scan("DE88370400440532013000")["iban"] == nil)  // wrong checksum
        #expect(try scan("DE8937040044053201300")["iban"] == nil)  // wrong length for DE
        #expect(try scan("ZZ89370400440532013000")["iban"] == nil)  // unknown country
        #expect(try scan("XDE89370400440532013000")["iban"] == nil)  // not standing alone
    }

    @Test func ssn() throws {
        #expect(try scan("SSN 123-45-6789 on file")["us_ssn"] == 1)
        #expect(try scan("SSN 123 45 6789")["us_ssn"] == 1)
        for bad in [
            "000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000",
            "123-45-67890", "1123-45-6789", "123-45 6789", "555-123-45-6789"
        ] {
            #expect(try scan("id \(bad) x")["us_ssn"] == nil, "\(bad)")
        }
    }

    @Test func emailPemAws() throws {
        let r = try scan(
            """
            contact alice.smith+hr@example.co.uk or bob@corp.example.
            not: a@b, user@localhost, @example.com, x@.com
            -----BEGIN RSA PRIVATE KEY-----
            -----BEGIN OPENSSH PRIVATE KEY-----
            -----BEGIN PUBLIC KEY-----
            -----BEGIN CERTIFICATE-----
            aws AKIAIOSFODNN7EXAMPLE and ASIAY34FZKBOKMUTVV7A but not AKIAIOSFODNN7EXAMPL or XAKIAIOSFODNN7EXAMPLE
            """)
        #expect(r["email"] == 2)
        #expect(r["private_key"] == 2)
        #expect(r["aws_access_key"] == 2)
    }

    @Test func keywordsAreCaseInsensitiveWholeWordsInOnePass() throws {
        let defs = [
            DetectorDefinition(id: "legal", kind: .keywords(["privileged and confidential", "NDA"])),
            DetectorDefinition(id: "proj", kind: .keywords(["falcon"]))
        ]
        let r = try scan("PRIVILEGED AND CONFIDENTIAL under nda; Falcon. falcons, Falconry, nda.", defs)
        #expect(r["legal"] == 3)
        #expect(r["proj"] == 1)
    }

    @Test func customRegex() throws {
        let defs = [DetectorDefinition(id: "emp", kind: .regex("EMP-[0-9]{6}", maxLength: 10))]
        #expect(try scan("EMP-123456 EMP-12345 EMP-654321", defs)["emp"] == 2)
    }

    /// Every hit must be found wherever the stream is cut, including inside the match.
    @Test func matchesSplitAcrossChunksAtEveryOffset() throws {
        let defs =
            DetectorDefinition.builtins + [
                DetectorDefinition(id: "kw", kind: .keywords(["strictly confidential"])),
                DetectorDefinition(id: "re", kind: .regex("EMP-[0-9]{6}", maxLength: 10))
            ]
        let text = Array(
            """
            card 4111 1111 1111 1111 iban GB82 WEST 1234 5698 7654 32 ssn 123-45-6789 mail alice@example.com
            -----BEGIN PRIVATE KEY----- AKIAIOSFODNN7EXAMPLE Strictly Confidential EMP-123456 end 5555555555554444
            """.utf8)
        let whole = try ContentScanner(defs)
        whole.feed(text)
        let expected = whole.finish()
        #expect(
            expected == [
                "credit_card": 2, "iban": 1, "us_ssn": 1, "email": 1, "private_key": 1,
                "aws_access_key": 1, "kw": 1, "re": 1
            ])
        for cut in 0...text.count {
            let s = try ContentScanner(defs)
            s.feed(Array(text[0..<cut]))
            s.feed(Array(text[cut...]))
            #expect(s.finish() == expected, "cut at \(cut)")
        }
        // And byte by byte.
        let s = try ContentScanner(defs)
        for b in text { s.feed([b]) }
        #expect(s.finish() == expected)
    }

    @Test func largeStreamInOddChunks() throws {
        var text = [UInt8]()
        for i in 0..<2000 {
            text += Array("line \(i) of filler text, nothing here 12345 ".utf8);
            if i % 100 == 0 { text += Array(" 4111111111111111 ".utf8) }
        }
        for size in [1, 7, 4096, 65_536] {
            let s = try ContentScanner()
            var i = 0
            while i < text.count { s.feed(Array(text[i..<min(text.count, i + size)])); i += size }
            #expect(s.finish()["credit_card"] == 20)
        }
    }
}

/// The vector pre-filter only narrows positions; its counts must equal the scalar loop's on any input.
@Suite struct DetectorPrefilterTests {
    static let fragments = [
        "4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444", "378282246310005", "4111111111111112",
        "94111111111111111", "2026-11-29T12:46:29Z", "3279,account,288389.31,EUR,2026-04-05", "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32", "DE88370400440532013000", "123-45-6789", "123 45 6789", "666-12-3456",
        "alice.smith+hr@example.co.uk", "a@b", "x@.com", "-----BEGIN RSA PRIVATE KEY-----", "----BEGIN", "--",
        "AKIAIOSFODNN7EXAMPLE", "XAKIAIOSFODNN7EXAMPLE", "AKIA", "Strictly Confidential", "STRICTLY confidential",
        "strictlyconfidential", "privileged and confidential", "attorney-client privileged", "settlement agreement",
        "a", "p", "s", "A", "At", "pr", "12", "1", "0", "\n", " ", ",", "-", "@", "\u{e9}", "\u{1F600}"
    ]

    static func corpus(seed: UInt64, count: Int) -> [UInt8] {
        var rng = seed
        func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
        var out = [UInt8]()
        for _ in 0..<count {
            switch next() % 4 {
            case 0: out += Array(fragments[Int(next() % UInt64(fragments.count))].utf8)
            case 1: out.append(UInt8(0x30 + next() % 10))
            case 2: out.append(UInt8(next() % 256))
            default: out.append([0x20, 0x2D, 0x41, 0x61, 0x70, 0x73, 0x0A][Int(next() % 7)])
            }
        }
        return out
    }

    static let definitions =
        DetectorDefinition.builtins + [
            DetectorDefinition(
                id: "kw",
                kind: .keywords([
                    "privileged and confidential", "strictly confidential", "settlement agreement",
                    "attorney-client privileged", "a"
                ]))
        ]

    func counts(_ data: [UInt8], vector: Bool, chunk: Int) throws -> [String: Int] {
        let s = ContentScanner(try DetectorSet(Self.definitions, vector: vector))
        var i = 0
        while i < data.count { s.feed(Array(data[i..<min(data.count, i + chunk)])); i += chunk }
        return s.finish()
    }

    @Test(arguments: [1, 2, 3])
    func vectorAndScalarAgree(seed: UInt64) throws {
        let data = Self.corpus(seed: seed, count: 60_000)
        let scalar = try counts(data, vector: false, chunk: data.count)
        #expect(Set(scalar.keys) == Set(Self.definitions.map(\.id)), "every detector fires in the corpus")
        for chunk in [data.count, 65_536, 4093, 97] {
            #expect(try counts(data, vector: true, chunk: chunk) == scalar, "chunk \(chunk)")
        }
    }

    /// Matches between long runs of bytes that cannot start one (zeros, whitespace, punctuation, non-ASCII):
    /// the vector scan skips such runs 32 bytes at a time and must pick up the context after each.
    @Test(arguments: [4, 5])
    func quietRunsAreSkippedWithoutLosingMatches(seed: UInt64) throws {
        var rng = seed
        func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 33 }
        var data = [UInt8]()
        for _ in 0..<3_000 {
            data += Array(Self.fragments[Int(next() % UInt64(Self.fragments.count))].utf8)
            let quiet: [UInt8] = [0x00, 0x20, 0x0A, 0x2C, 0x2E, 0xE9, 0xFF]
            for _ in 0..<Int(next() % 120) { data.append(quiet[Int(next() % UInt64(quiet.count))]) }
        }
        let scalar = try counts(data, vector: false, chunk: data.count)
        #expect(Set(scalar.keys) == Set(Self.definitions.map(\.id)), "every detector fires in the corpus")
        for chunk in [data.count, 65_536, 4093, 97] {
            #expect(try counts(data, vector: true, chunk: chunk) == scalar, "chunk \(chunk)")
        }
        let zeros =
            [UInt8](repeating: 0, count: 100_000) + Array("card 4111 1111 1111 1111".utf8)
            + [UInt8](repeating: 0, count: 100)
        #expect(try counts(zeros, vector: true, chunk: zeros.count)["credit_card"] == 1)
    }

    @Test func vectorPathRunsWhereTheCPUHasIt() throws {
        #if arch(x86_64)
            let avx2 = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains(" avx2") ?? false
            #expect((try DetectorSet(Self.definitions).vectorTables != nil) == avx2)
        #endif
        // A keyword that starts with a digit keeps the scalar loop (the letter-set lookup covers letters only).
        #expect(try DetectorSet([DetectorDefinition(id: "k", kind: .keywords(["10-K filing"]))]).vectorTables == nil)
    }
}
