// swift-tools-version:6.1
import PackageDescription

// Layers, dependencies pointing one way:
// protfs (CLI) -> ProtMount / ProtService -> ProtShare -> ProtStore -> ProtAccess
//   -> ProtContainer / ProtPolicy / ProtLedger -> ProtCrypto / ProtSystem -> C system libraries
// (ProtPolicy also uses CAnchorScan, a small C vector kernel for its detectors)
let package = Package(
    name: "protfs",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "protfs", targets: ["protfs"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6")
    ],
    targets: [
        .systemLibrary(name: "CFuse3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        // The bottom layer: errno, EINTR retries, locks, thread names, clocks, the account database, and the
        // Linux calls Swift's Glibc does not import (CLinux).
        .target(name: "CLinux"),
        .target(name: "ProtSystem", dependencies: ["CLinux"]),

        // The detectors' vector pre-filter (AVX2 where the CPU has it); everything else about detection is Swift.
        .target(name: "CAnchorScan"),

        .target(name: "ProtCrypto", dependencies: ["COpenSSL"]),
        .target(name: "ProtContainer", dependencies: ["ProtCrypto", "ProtSystem"]),
        .target(
            name: "ProtPolicy", dependencies: ["ProtSystem", "CAnchorScan", .product(name: "Yams", package: "Yams")]),
        .target(name: "ProtLedger", dependencies: ["ProtCrypto", "ProtSystem", "CSQLite"]),
        // Who may do what: transport-free, so the whole access matrix is a unit test.
        .target(
            name: "ProtAccess", dependencies: ["ProtContainer", "ProtPolicy", "ProtLedger", "ProtCrypto", "ProtSystem"]),
        .target(
            name: "ProtStore",
            dependencies: [
                "ProtAccess", "ProtContainer", "ProtPolicy", "ProtLedger", "ProtCrypto", "ProtSystem"
            ]),
        .target(
            name: "ProtShare", dependencies: ["ProtStore", "ProtContainer", "ProtPolicy", "ProtCrypto", "ProtSystem"]),
        .target(
            name: "ProtService",
            dependencies: [
                "ProtShare", "ProtStore", "ProtLedger", "ProtPolicy", "ProtCrypto", "ProtSystem",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log")
            ]),
        .target(
            name: "ProtMount",
            dependencies: [
                "ProtShare", "ProtStore", "ProtAccess", "ProtContainer", "ProtPolicy", "ProtLedger", "ProtCrypto",
                "ProtSystem", "CLinux", "CFuse3",
                .product(name: "Logging", package: "swift-log")
            ]),
        .executableTarget(
            name: "protfs",
            dependencies: [
                "ProtMount", "ProtService", "ProtShare", "ProtStore", "ProtAccess", "ProtPolicy", "ProtLedger",
                "ProtContainer", "ProtCrypto", "ProtSystem", "CLinux",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log")
            ]),

        // Fuzzing harness: built with -sanitize=fuzzer by scripts/fuzz.sh; a plain build replays the kept inputs.
        .executableTarget(
            name: "protfs-fuzz", dependencies: ["ProtContainer", "ProtPolicy", "ProtShare"], path: "Tests/Fuzz/Harness"),

        .testTarget(name: "ProtCryptoTests", dependencies: ["ProtCrypto"]),
        .testTarget(name: "ProtContainerTests", dependencies: ["ProtContainer", "ProtCrypto"]),
        .testTarget(name: "ProtPolicyTests", dependencies: ["ProtPolicy"]),
        .testTarget(name: "ProtLedgerTests", dependencies: ["ProtLedger", "ProtCrypto", "ProtSystem"]),
        .testTarget(
            name: "ProtAccessTests",
            dependencies: [
                "ProtAccess", "ProtPolicy", "ProtContainer", "ProtLedger", "ProtSystem"
            ]),
        .testTarget(name: "CLITests", dependencies: ["protfs", "protfs-fuzz"]),
        .testTarget(name: "MountTests", dependencies: ["protfs"])
    ],
    swiftLanguageModes: [.v6]
)
