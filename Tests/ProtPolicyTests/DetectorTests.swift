import Testing
@testable import ProtPolicy

func scan(_ text: String, _ defs: [DetectorDefinition] = DetectorDefinition.builtins) throws -> [String: Int] {
    let s = try ContentScanner(defs)
    s.feed(Array(text.utf8))
    return s.finish()
}

@Suite struct DetectorTests {
    @Test(arguments: ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444",
                      "2223003122003222", "378282246310005", "6011111111111117", "3530111333300000", "30569309025904"])
    func cardTruePositives(_ card: String) throws {
        #expect(try scan("pay with \(card), thanks")["credit_card"] == 1)
    }

    @Test(arguments: [
        "4111111111111112",            // Luhn-invalid
        "94111111111111111",           // inside a longer digit run
        "41111111111111111234",        // too long
        "4111 1111-1111 1111",         // mixed separators
        "1234567812345670",            // Luhn-valid but no issuer prefix
        "411111111111",                // too short
        "x4111111111111111",           // glued to a word
        "4111111111111111z",
        "12 4111 1111 1111 1111",      // grouped run that starts earlier
    ])
    func cardNearMisses(_ text: String) throws {
        #expect(try scan(text)["credit_card"] == nil)
    }

    @Test func iban() throws {
        #expect(try scan("IBAN DE89370400440532013000.")["iban"] == 1)
        #expect(try scan("GB82 WEST 1234 5698 7654 32 EUR")["iban"] == 1)
        #expect(try scan("DE88370400440532013000")["iban"] == nil)       // wrong checksum
        #expect(try scan("DE8937040044053201300")["iban"] == nil)        // wrong length for DE
        #expect(try scan("ZZ89370400440532013000")["iban"] == nil)       // unknown country
        #expect(try scan("XDE89370400440532013000")["iban"] == nil)      // not standing alone
    }

    @Test func ssn() throws {
        #expect(try scan("SSN 123-45-6789 on file")["us_ssn"] == 1)
        #expect(try scan("SSN 123 45 6789")["us_ssn"] == 1)
        for bad in ["000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "123-00-4567", "123-45-0000",
                    "123-45-67890", "1123-45-6789", "123-45 6789", "555-123-45-6789"] {
            #expect(try scan("id \(bad) x")["us_ssn"] == nil, "\(bad)")
        }
    }

    @Test func emailPemAws() throws {
        let r = try scan("""
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
        let defs = [DetectorDefinition(id: "legal", kind: .keywords(["privileged and confidential", "NDA"])),
                    DetectorDefinition(id: "proj", kind: .keywords(["falcon"]))]
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
        let defs = DetectorDefinition.builtins + [
            DetectorDefinition(id: "kw", kind: .keywords(["strictly confidential"])),
            DetectorDefinition(id: "re", kind: .regex("EMP-[0-9]{6}", maxLength: 10)),
        ]
        let text = Array("""
        card 4111 1111 1111 1111 iban GB82 WEST 1234 5698 7654 32 ssn 123-45-6789 mail alice@example.com
        -----BEGIN PRIVATE KEY----- AKIAIOSFODNN7EXAMPLE Strictly Confidential EMP-123456 end 5555555555554444
        """.utf8)
        let whole = try ContentScanner(defs)
        whole.feed(text)
        let expected = whole.finish()
        #expect(expected == ["credit_card": 2, "iban": 1, "us_ssn": 1, "email": 1, "private_key": 1,
                             "aws_access_key": 1, "kw": 1, "re": 1])
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
        for i in 0..<2000 { text += Array("line \(i) of filler text, nothing here 12345 ".utf8); if i % 100 == 0 { text += Array(" 4111111111111111 ".utf8) } }
        for size in [1, 7, 4096, 65_536] {
            let s = try ContentScanner()
            var i = 0
            while i < text.count { s.feed(Array(text[i..<min(text.count, i + size)])); i += size }
            #expect(s.finish()["credit_card"] == 20)
        }
    }
}
