// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every Swift target: Swift 6 language mode (strict concurrency) everywhere.
let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Convoy",
    products: [
        .library(name: "ConvoyDispatcher", targets: ["ConvoyDispatcher"]),
        .library(name: "ConvoyNetwork", targets: ["ConvoyNetwork"]),
        .library(name: "ConvoyHTTP1", targets: ["ConvoyHTTP1"]),
        .library(name: "ConvoyTestSupport", targets: ["ConvoyTestSupport"]),
    ],
    targets: [
        // MARK: - Targets
        .systemLibrary(
            name: "CLibevent",
            pkgConfig: "libevent_pthreads",
            providers: [.apt(["libevent-dev"]), .brew(["libevent"])]
        ),
        .target(
            name: "ConvoyDispatcher",
            dependencies: ["CLibevent"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ConvoyNetwork",
            dependencies: ["ConvoyDispatcher"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ConvoyHTTP1",
            dependencies: ["ConvoyNetwork", "ConvoyDispatcher"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ConvoyTestSupport",
            dependencies: ["ConvoyDispatcher", "ConvoyNetwork", "ConvoyHTTP1"],
            swiftSettings: strictSwift
        ),

        // MARK: - Examples
        .executableTarget(
            name: "TimerAndSignals",
            dependencies: ["ConvoyDispatcher"],
            path: "Examples/TimerAndSignals",
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),

        .executableTarget(
            name: "EchoServer",
            dependencies: ["ConvoyDispatcher", "ConvoyNetwork"],
            path: "Examples/EchoServer",
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "TCPProxy",
            dependencies: ["ConvoyDispatcher", "ConvoyNetwork"],
            path: "Examples/TCPProxy",
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),

        .executableTarget(
            name: "HelloHTTPServer",
            dependencies: ["ConvoyDispatcher", "ConvoyNetwork", "ConvoyHTTP1"],
            path: "Examples/HelloHTTPServer",
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),

        // MARK: - Tests
        .testTarget(
            name: "ConvoyNetworkTests",
            dependencies: ["ConvoyNetwork", "ConvoyDispatcher", "ConvoyTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ConvoyHTTP1Tests",
            dependencies: ["ConvoyHTTP1", "ConvoyNetwork", "ConvoyDispatcher", "ConvoyTestSupport"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ConvoyDispatcherTests",
            dependencies: ["ConvoyDispatcher", "ConvoyTestSupport"],
            swiftSettings: strictSwift
        ),
    ]
)
