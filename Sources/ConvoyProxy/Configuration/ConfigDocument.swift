import Foundation
import Yams

/// One object of the configuration (a YAML document): its kind, name and `spec`. Confined to the
/// loading thread.
struct ConfigDocument {
    static let istioVersions = ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"]
    static let convoyVersion = "convoy/v1alpha1"
    static let kinds = ["Gateway", "ServiceEntry", "VirtualService", "DestinationRule", "Bootstrap"]

    let kind: String
    let name: String
    let namespace: String
    let spec: ConfigNode
    let root: ConfigNode

    /// Reads every `.yaml`, `.yml` and `.json` file at `path` (a file, or a directory read in name
    /// order) and returns the documents that are well-formed objects.
    static func load(path: String, diagnostics: ConfigDiagnostics) -> [ConfigDocument] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            diagnostics.add(ConfigDiagnostic(.error, file: path, line: 0, column: 0, path: "", message: "no such file or directory"))
            return []
        }
        var files = [path]
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") || $0.hasSuffix(".json") }
                .sorted().map { (path as NSString).appendingPathComponent($0) }
            if files.isEmpty {
                diagnostics.add(ConfigDiagnostic(.error, file: path, line: 0, column: 0, path: "", message: "the directory has no .yaml, .yml or .json files"))
            }
        }
        var documents: [ConfigDocument] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                diagnostics.add(ConfigDiagnostic(.error, file: file, line: 0, column: 0, path: "", message: "cannot read the file as UTF-8 text"))
                continue
            }
            documents += parse(text: text, file: file, diagnostics: diagnostics)
        }
        return documents
    }

    /// Splits `text` (YAML or JSON, one or more documents) into objects.
    static func parse(text: String, file: String, diagnostics: ConfigDiagnostics) -> [ConfigDocument] {
        var documents: [ConfigDocument] = []
        do {
            var roots = try Yams.compose_all(yaml: text)
            while let root = roots.next() {
                if let document = make(root: root, file: file, diagnostics: diagnostics) { documents.append(document) }
            }
            if let error = roots.error { throw error }
        } catch {
            diagnostics.add(yamlDiagnostic(error, file: file))
        }
        return documents
    }

    private static func yamlDiagnostic(_ error: any Error, file: String) -> ConfigDiagnostic {
        if let yaml = error as? YamlError {
            switch yaml {
            case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
                .composer(let context, let problem, let mark, _):
                let detail = context.map { "\(problem) (\($0.text) at \($0.mark))" } ?? problem
                return ConfigDiagnostic(.error, file: file, line: mark.line, column: mark.column, path: "", message: "invalid YAML: \(detail)")
            default:
                break
            }
        }
        return ConfigDiagnostic(.error, file: file, line: 0, column: 0, path: "", message: "invalid YAML: \(error)")
    }

    private static func make(root: Node, file: String, diagnostics: ConfigDiagnostics) -> ConfigDocument? {
        if case .scalar(let scalar) = root, scalar.string.isEmpty { return nil }  // an empty document
        let top = ConfigNode(node: root, file: file, object: "", path: "", diagnostics: diagnostics)
        guard let fields = top.fields(["apiVersion", "kind", "metadata", "spec", "status"]) else { return nil }
        guard let kindNode = fields["kind"] else {
            top.error("missing 'kind' (one of \(kinds.joined(separator: ", ")))")
            return nil
        }
        guard let kind = kindNode.string() else { return nil }
        guard kinds.contains(kind) else {
            kindNode.error("unsupported kind '\(kind)'; supported: \(kinds.joined(separator: ", "))")
            return nil
        }
        let versions = kind == "Bootstrap" ? [convoyVersion] : istioVersions
        guard let versionNode = fields["apiVersion"] else {
            top.error("missing 'apiVersion' (\(versions.joined(separator: " or ")))")
            return nil
        }
        guard let version = versionNode.string() else { return nil }
        guard versions.contains(version) else {
            versionNode.error("apiVersion '\(version)' is not one for \(kind); use \(versions.joined(separator: " or "))")
            return nil
        }
        var name = kind == "Bootstrap" ? "bootstrap" : ""
        var namespace = "default"
        if let metadata = fields["metadata"]?.fields(
            ["name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation", "creationTimestamp", "generateName"])
        {
            if let value = metadata["name"]?.string() { name = value }
            if let value = metadata["namespace"]?.string() { namespace = value }
            _ = metadata["labels"]?.stringMap()
            _ = metadata["annotations"]?.stringMap()
        }
        guard !name.isEmpty else {
            (fields["metadata"] ?? top).error("missing 'metadata.name'")
            return nil
        }
        guard let spec = fields["spec"] else {
            top.error("missing 'spec'")
            return nil
        }
        let object = "\(kind)/\(name)"
        let scoped = ConfigNode(node: spec.node, file: file, object: object, path: "spec", diagnostics: diagnostics)
        let scopedRoot = ConfigNode(node: root, file: file, object: object, path: "", diagnostics: diagnostics)
        return ConfigDocument(kind: kind, name: name, namespace: namespace, spec: scoped, root: scopedRoot)
    }
}
