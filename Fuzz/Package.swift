// swift-tools-version: 6.1
import PackageDescription

// The libFuzzer target for ConvoyHTTP1's parser, in its own package because it has no `main`
// (libFuzzer provides it) and must be built with `-sanitize=fuzzer`. Run: `bash Fuzz/fuzz.sh`.
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
    ]
)
