// swift-tools-version: 6.1
import PackageDescription

// Layers, bottom to top: numeric backend (OsusumeCore) → tensor engine → data → models →
// evaluation → serving, and the `osusume` command line on top.
let blas: [Target.Dependency] = [
    .target(name: "COpenBLAS", condition: .when(platforms: [.linux]))
]

let package = Package(
    name: "Osusume",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "osusume", targets: ["osusume"]),
        .library(name: "Osusume", targets: ["OsusumeCore", "OsusumeData", "OsusumeTensor", "OsusumeModels", "OsusumeNeural", "OsusumeEval", "OsusumeStore", "OsusumeAPI", "OsusumeServe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
        // Request metrics (swift-metrics API, Prometheus exposition) and graceful shutdown.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // `swift package generate-documentation` (scripts/docs.sh).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(
            name: "OsusumeCore", dependencies: blas,
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS, .iOS]))]),
        // Vector kernels in C with per-function target attributes and run-time CPU dispatch.
        .target(name: "OsusumeKernels"),
        .target(name: "OsusumeTensor", dependencies: ["OsusumeCore", "OsusumeKernels"]),
        .target(name: "OsusumeData", dependencies: ["OsusumeCore"]),
        .target(name: "OsusumeModels", dependencies: ["OsusumeCore", "OsusumeData", "OsusumeKernels"]),
        .target(name: "OsusumeEval", dependencies: ["OsusumeCore", "OsusumeData", "OsusumeModels"]),
        // Neural models on the tensor engine (sequential, autoencoders, NeuMF).
        .target(name: "OsusumeNeural", dependencies: ["OsusumeCore", "OsusumeData", "OsusumeTensor", "OsusumeModels"]),
        // The event store (feedback log and current-model pointer): SQLite embedded, PostgreSQL for a fleet.
        .target(
            name: "OsusumeStore",
            dependencies: [
                "OsusumeCore", "OsusumeData",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        // The HTTP API's request bodies, decoded without HTTP (shared by the routes and the fuzzer).
        .target(name: "OsusumeAPI", dependencies: ["OsusumeData"]),
        .target(
            name: "OsusumeServe",
            dependencies: [
                "OsusumeCore", "OsusumeData", "OsusumeModels", "OsusumeEval", "OsusumeStore", "OsusumeAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ], resources: [.copy("Web")]),
        .executableTarget(
            name: "osusume",
            dependencies: [
                "OsusumeCore", "OsusumeData", "OsusumeTensor", "OsusumeModels", "OsusumeNeural", "OsusumeEval", "OsusumeStore", "OsusumeServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // libFuzzer harnesses for every parser of outside input (scripts/fuzz.sh); a plain build replays inputs.
        .executableTarget(
            name: "osusume-fuzz", dependencies: ["OsusumeCore", "OsusumeData", "OsusumeModels", "OsusumeAPI"],
            path: "Sources/osusume-fuzz"),
        .testTarget(name: "OsusumeCoreTests", dependencies: ["OsusumeCore"]),
        .testTarget(
            name: "OsusumeTensorTests", dependencies: ["OsusumeTensor"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "OsusumeDataTests", dependencies: ["OsusumeData"]),
        .testTarget(name: "OsusumeModelsTests", dependencies: ["OsusumeModels", "OsusumeData", "OsusumeEval", "OsusumeKernels"]),
        .testTarget(name: "OsusumeNeuralTests", dependencies: ["OsusumeNeural", "OsusumeModels", "OsusumeData", "OsusumeEval", "OsusumeTensor"]),
        .testTarget(name: "OsusumeEvalTests", dependencies: ["OsusumeEval", "OsusumeData", "OsusumeModels"]),
        // Helpers shared by test targets (scratch folders removed when the test process exits).
        .target(name: "OsusumeTestSupport", path: "Tests/OsusumeTestSupport"),
        .testTarget(
            name: "OsusumeStoreTests",
            dependencies: ["OsusumeStore", "OsusumeData", "OsusumeCore", "OsusumeTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(
            name: "OsusumeServeTests",
            dependencies: [
                "OsusumeServe", "OsusumeStore", "OsusumeModels", "OsusumeData", "OsusumeTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
    ],
    swiftLanguageModes: [.v5]
)
