// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so that Convoy's users never build package-benchmark.
// Every Swift figure has a partner written directly against libevent in C (LibeventBaseline),
// measured in the same run.
let package = Package(
    name: "ConvoyBenchmarks",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The same operations as ConvoyDispatcher's, written directly on libevent.
        .target(
            name: "LibeventBaseline",
            linkerSettings: [.linkedLibrary("event_pthreads"), .linkedLibrary("event")]
        ),
        // The Swift side of every workload, shared by the two executables below.
        .target(
            name: "DispatcherWorkloads",
            dependencies: [.product(name: "ConvoyDispatcher", package: "main")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .target(
            name: "NetworkWorkloads",
            dependencies: [.product(name: "ConvoyNetwork", package: "main")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // A C echo server on bufferevents and a C load generator, for the out-of-process echo
        // comparison (scripts/echo.sh).
        .executableTarget(
            name: "CEchoServer",
            linkerSettings: [.linkedLibrary("event")]
        ),
        .executableTarget(name: "EchoLoad"),
        // The floor under any proxy here: a raw-epoll TCP relay (scripts/relay-bound.sh).
        .executableTarget(name: "TCPRelay"),
        // The parser benchmark: nodejs http-parser (Debian libhttp-parser-dev) against ConvoyHTTP1.
        .target(
            name: "HTTPParserBaseline",
            linkerSettings: [.linkedLibrary("http_parser")]
        ),
        .target(
            name: "HTTP1Workloads",
            dependencies: [.product(name: "ConvoyHTTP1", package: "main"), .product(name: "ConvoyNetwork", package: "main")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "ParserBench",
            dependencies: ["HTTP1Workloads", "HTTPParserBaseline"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        // A plain executable that runs one operation N times, Swift or C: what callgrind counts.
        .executableTarget(
            name: "DispatcherOps",
            dependencies: ["DispatcherWorkloads", "NetworkWorkloads", "LibeventBaseline"],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "DispatcherBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                "DispatcherWorkloads",
                "NetworkWorkloads",
                "LibeventBaseline",
            ],
            path: "Benchmarks/DispatcherBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
