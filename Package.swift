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
        .library(name: "ConvoyRouter", targets: ["ConvoyRouter"]),
        .library(name: "ConvoyProxy", targets: ["ConvoyProxy"]),
        .library(name: "ConvoyTestSupport", targets: ["ConvoyTestSupport"]),
        .executable(name: "convoy", targets: ["convoy"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
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
            name: "ConvoyRouter",
            dependencies: ["ConvoyHTTP1", "ConvoyNetwork"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "ConvoyProxy",
            dependencies: [
                "ConvoyRouter", "ConvoyHTTP1", "ConvoyNetwork", "ConvoyDispatcher",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "convoy",
            dependencies: [
                "ConvoyProxy", "ConvoyDispatcher",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
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

        .executableTarget(
            name: "DemoBackend",
            dependencies: ["ConvoyDispatcher", "ConvoyNetwork", "ConvoyHTTP1"],
            path: "Examples/DemoBackend",
            exclude: ["README.md"],
            swiftSettings: strictSwift
        ),

        // MARK: - Tests
        .testTarget(
            name: "ConvoyRouterTests",
            dependencies: ["ConvoyRouter", "ConvoyHTTP1"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "ConvoyProxyTests",
            dependencies: ["ConvoyProxy", "ConvoyRouter", "ConvoyHTTP1", "ConvoyNetwork", "ConvoyDispatcher", "ConvoyTestSupport"],
            swiftSettings: strictSwift
        ),
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
