// swift-tools-version:6.1
import PackageDescription

// Layers (see docs/architecture.md): dependencies point inward.
//   AccordCore       identities, manifest values, diagnostics; pure
//   AccordManifests  YAML -> typed, validated desired state        (core, Yams' libyaml)
//   AccordEngine     desired rows, pairing, field diff, Plan, guard (core, Crypto for hashes); pure
//   AccordGit        libgit2 behind a small protocol              (core, CLibGit2)
//   AccordStore      PostgreSQL readers and writers: migrations, live state, per-kind rows, inventory,
//                    lock, audit, keys, erasure and retention SQL; runs batches; TLS per sslmode (core, engine, PostgresNIO, NIOSSL)
//   AccordSource     a revision of a repository, read whole, listed or in part (manifests, git, engine)
//   AccordConnectors one adapter per external store type: ClickHouse, Redis, S3, http (core, AsyncHTTPClient, NIO)
//   AccordSync       one reconcile pass, fast, incremental or full: orchestration only (source, store)
//   AccordController the daemon's loop: triggers, backoff, leader lock, metrics (sync, ServiceLifecycle, Logging, Metrics)
//   AccordHTTP       health, readiness, metrics, webhook, status API       (controller, Hummingbird)
//   accordctl, accord-controller: parse arguments, wire once, run
// The two programs allocate through jemalloc instead of glibc's malloc: a
// full apply allocates millions of small values on two threads, where glibc's
// arenas spend about a tenth of the time consolidating and unlinking chunks
// (docs/benchmarks-notes.md, "2026-12-07, later"). Debian's libjemalloc-dev.
// accordctl's heap goes on transparent huge pages (AccordCtlMalloc).
let jemalloc: [LinkerSetting] = [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]

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
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .target(name: "AccordCore"),
        .target(name: "AccordBuildInfo", dependencies: ["AccordCore"], plugins: ["BuildInfo"]),
        .plugin(name: "BuildInfo", capability: .buildTool()),
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
            name: "AccordTrust",
            dependencies: [
                "AccordCore", "AccordGit", "AccordManifests",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "AccordEngine",
            dependencies: ["AccordCore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "AccordStore",
            dependencies: [
                "AccordCore", "AccordEngine",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AccordSource",
            dependencies: ["AccordCore", "AccordManifests", "AccordGit", "AccordEngine"]
        ),
        .target(
            name: "AccordConnectors",
            dependencies: [
                "AccordCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "AccordSync",
            dependencies: ["AccordCore", "AccordEngine", "AccordSource", "AccordStore", "AccordConnectors"]
        ),
        .target(
            name: "AccordController",
            dependencies: [
                "AccordCore", "AccordBuildInfo", "AccordEngine", "AccordGit", "AccordManifests", "AccordStore", "AccordSource", "AccordSync",
                "AccordTrust", "AccordConnectors",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "AccordHTTP",
            dependencies: [
                "AccordController", "AccordStore", "AccordEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AccordCLI",
            dependencies: [
                "AccordCore", "AccordBuildInfo", "AccordManifests", "AccordGit", "AccordEngine", "AccordStore", "AccordSource", "AccordSync",
                "AccordTrust",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "AccordCtlMalloc"),
        .executableTarget(name: "accordctl", dependencies: ["AccordCLI", "AccordCtlMalloc"], linkerSettings: jemalloc),
        .executableTarget(
            name: "accord-bench-floor",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .executableTarget(
            name: "accord-controller",
            dependencies: [
                "AccordController", "AccordHTTP", "AccordCore", "AccordBuildInfo",
                .product(name: "Logging", package: "swift-log"),
            ],
            linkerSettings: jemalloc
        ),
        // Fuzz harness over manifest parsing and validation: hack/fuzz builds it
        // with libFuzzer; an ordinary build makes a replayer of its inputs.
        .executableTarget(name: "accord-fuzz", dependencies: ["AccordCore", "AccordManifests"]),
        .testTarget(name: "AccordManifestsTests", dependencies: ["AccordCore", "AccordManifests"]),
        .target(name: "AccordTestSupport", dependencies: ["AccordCore", "AccordStore", "AccordEngine"], path: "Tests/AccordTestSupport"),
        .testTarget(name: "AccordGitTests", dependencies: ["AccordCore", "AccordGit", "AccordTestSupport"]),
        .testTarget(name: "AccordTrustTests", dependencies: ["AccordCore", "AccordGit", "AccordTrust", "AccordTestSupport"]),
        .testTarget(
            name: "AccordCTLTests",
            dependencies: [
                "AccordCLI", "AccordCore", "AccordEngine", "AccordGit", "AccordManifests", "AccordStore", "AccordConnectors", "AccordTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "AccordEngineTests",
            dependencies: ["AccordCore", "AccordEngine", "AccordManifests", "AccordTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "AccordStoreTests",
            dependencies: ["AccordCore", "AccordEngine", "AccordStore", "AccordTestSupport"]
        ),
        .testTarget(
            name: "AccordConnectorsTests",
            dependencies: ["AccordCore", "AccordConnectors", "AccordTestSupport"]
        ),
        .testTarget(
            name: "AccordSyncTests",
            dependencies: ["AccordCore", "AccordEngine", "AccordManifests", "AccordStore", "AccordSync", "AccordConnectors", "AccordTestSupport"]
        ),
        .testTarget(
            name: "AccordControllerTests",
            dependencies: [
                "AccordController", "AccordHTTP", "AccordCore", "AccordBuildInfo", "AccordEngine", "AccordStore", "AccordSource", "AccordSync", "AccordTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "SchemaTests",
            dependencies: [.product(name: "Yams", package: "Yams")],
            path: "Tests/SchemaTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Release builds optimize across Accord's own modules (-cross-module-optimization):
// the engine's values (JSONValue, Record, DesiredObject, the specs) are defined in
// one module and used in hot loops of others, where a call through the module's
// boundary cannot be inlined or specialized. Measured in docs/benchmarks-notes.md
// ("2026-12-07, late evening"). Debug builds, the dependencies and the bench's
// floor program are unchanged.
let programs = Set(["accordctl", "accord-controller"])
for target in package.targets
where (target.type == .regular && target.name.hasPrefix("Accord") && target.name != "AccordCtlMalloc") || programs.contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]
}
