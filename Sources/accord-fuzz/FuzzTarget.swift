import AccordCore
import AccordManifests

/// One input through what `accordctl validate` does with a manifest file:
/// UTF-8 and limit checks, YAML events, decoding of every kind, references
/// and step cycles. Besides not crashing, the result must hold together.
enum FuzzTarget {
    static let file = "fuzz/input.yaml"

    static func run(_ bytes: [UInt8]) {
        let set = ManifestSet.load([SourceFile(path: file, content: .bytes(bytes))])
        let lines = lineBreaks(bytes) + 1
        for diagnostic in set.diagnostics {
            let place = diagnostic.position
            // Every problem names a place inside the file.
            guard place.file == file, (1...lines + 1).contains(place.line), place.column >= 1, !diagnostic.message.isEmpty else {
                fatalError("diagnostic outside the input: \(diagnostic)")
            }
        }
        // An invalid set never yields objects that could be applied on their own.
        if set.isValid {
            let ids = set.manifests.map(\.id)
            guard Set(ids).count == ids.count else { fatalError("two valid objects share an identity") }
        }
    }

    /// An upper bound of the line breaks YAML sees: LF, CR, NEL, LS and PS.
    static func lineBreaks(_ bytes: [UInt8]) -> Int {
        var count = 0
        for (i, b) in bytes.enumerated() {
            switch b {
            case 0x0A, 0x0D: count += 1
            case 0x85 where i > 0 && bytes[i - 1] == 0xC2: count += 1
            case 0xA8...0xA9 where i > 1 && bytes[i - 2] == 0xE2 && bytes[i - 1] == 0x80: count += 1
            default: break
            }
        }
        return count
    }
}
