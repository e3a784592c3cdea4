// swift-tools-version: 6.1
import PackageDescription

// The libFuzzer targets — ConvoyHTTP1's parser, ConvoyRouter's path normalization and
// ConvoyNetwork's PROXY protocol header — in their
// own package because they have no `main` (libFuzzer provides it) and must be built with
// `-sanitize=fuzzer`. Run: `bash Fuzz/fuzz.sh`, `FUZZER=PathFuzzer bash Fuzz/fuzz.sh`,
// `FUZZER=ProxyHeaderFuzzer bash Fuzz/fuzz.sh`.
let package = Package(
    name: "ConvoyFuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "ParserFuzzer",
            dependencies: [
                .product(name: "ConvoyHTTP1", package: "main"),
                .product(name: "ConvoyNetwork", package: "main"),
                .product(name: "ConvoyTestSupport", package: "main"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "PathFuzzer",
            dependencies: [
                .product(name: "ConvoyHTTP1", package: "main"),
                .product(name: "ConvoyNetwork", package: "main"),
                .product(name: "ConvoyRouter", package: "main"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "ProxyHeaderFuzzer",
            dependencies: [.product(name: "ConvoyNetwork", package: "main")],
            swiftSettings: [.swiftLanguageMode(.v6), .unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
