// swift-tools-version:6.1
import PackageDescription

// Layers (see docs/architecture.md): dependencies point inward.
//   AccordCore       identities, manifest values, diagnostics; pure
//   AccordManifests  YAML -> typed, validated desired state        (core, Yams' libyaml)
//   AccordEngine     desired rows, pairing, field diff, Plan, guard (core, Crypto for hashes); pure
//   AccordGit        libgit2 behind a small protocol              (core, CLibGit2)
//   AccordStore      PostgreSQL: migrations, live readers, executor, lock, audit (core, engine, PostgresNIO)
//   accordctl, accord-controller: parse arguments, wire once, run
let package = Package(
    name: "Accord",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "accordctl", targets: ["accordctl"]),
        .executable(name: "accord-controller", targets: ["accord-controller"]),
        .library(name: "AccordCore", targets: ["AccordCore"]),
        .library(name: "AccordManifests", targets: ["AccordManifests"]),
        .library(name: "AccordGit", targets: ["AccordGit"]),
        .library(name: "AccordEngine", targets: ["AccordEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .target(name: "AccordCore"),
        .target(
            name: "AccordManifests",
            dependencies: ["AccordCore", .product(name: "Yams", package: "Yams")]
        ),
        .systemLibrary(
            name: "CLibGit2",
            pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"])]
        ),
        .target(name: "AccordGit", dependencies: ["AccordCore", "CLibGit2"]),
        .target(
            name: "AccordEngine",
            dependencies: ["AccordCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "AccordStore",
            dependencies: [
                "AccordCore", "AccordEngine",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AccordCLI",
            dependencies: [
                "AccordCore", "AccordManifests", "AccordGit", "AccordEngine", "AccordStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "accordctl", dependencies: ["AccordCLI"]),
        .executableTarget(
            name: "accord-bench-floor",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "accord-controller",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Fuzz harness over manifest parsing and validation: hack/fuzz builds it
        // with libFuzzer; an ordinary build makes a replayer of its inputs.
        .executableTarget(name: "accord-fuzz", dependencies: ["AccordCore", "AccordManifests"]),
        .testTarget(name: "AccordManifestsTests", dependencies: ["AccordCore", "AccordManifests"]),
        .target(name: "AccordTestSupport", dependencies: ["AccordStore", "AccordEngine"], path: "Tests/AccordTestSupport"),
        .testTarget(name: "AccordGitTests", dependencies: ["AccordCore", "AccordGit", "AccordTestSupport"]),
        .testTarget(
            name: "AccordCTLTests",
            dependencies: [
                "AccordCLI", "AccordCore", "AccordGit", "AccordManifests", "AccordStore", "AccordTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "AccordEngineTests",
            dependencies: ["AccordCore", "AccordEngine", "AccordManifests", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "AccordStoreTests",
            dependencies: ["AccordCore", "AccordEngine", "AccordManifests", "AccordStore", "AccordTestSupport"]
        ),
        .testTarget(
            name: "SchemaTests",
            dependencies: [.product(name: "Yams", package: "Yams")],
            path: "Tests/SchemaTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)
