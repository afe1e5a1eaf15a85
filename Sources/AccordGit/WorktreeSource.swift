import AccordCore
import Foundation

/// Reads manifest files straight from a directory on disk (`--worktree`):
/// uncommitted edits included, symbolic links never followed.
public enum WorktreeSource {
    public static func files(root: String, under directory: String) throws -> [SourceFile] {
        let fm = FileManager.default
        let start = directory.isEmpty ? root : root + "/" + directory
        // --path itself is never followed through a symbolic link either.
        var walked = root
        for part in directory.split(separator: "/") {
            walked += "/" + part
            if (try? fm.attributesOfItem(atPath: walked))?[.type] as? FileAttributeType == .typeSymbolicLink {
                throw GitError(operation: "read \(Text.quoted(directory))", code: -1,
                               message: "\(Text.quoted(String(walked.dropFirst(root.count + 1)))) is a symbolic link; Accord does not follow symbolic links")
            }
        }
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: start, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GitError(operation: "read \(Text.quoted(directory.isEmpty ? root : directory))", code: -1, message: "no such directory")
        }
        var files: [SourceFile] = []
        var pending: [String] = [directory]
        while let relative = pending.popLast() {
            let absolute = relative.isEmpty ? root : root + "/" + relative
            for name in try fm.contentsOfDirectory(atPath: absolute) where !ManifestPaths.isHidden(name) {
                let path = relative.isEmpty ? name : relative + "/" + name
                let full = root + "/" + path
                // attributesOfItem does not follow symbolic links (lstat).
                let attributes = try fm.attributesOfItem(atPath: full)
                switch attributes[.type] as? FileAttributeType {
                case .typeDirectory?:
                    pending.append(path)
                case .typeSymbolicLink? where ManifestPaths.isManifestFile(name):
                    files.append(SourceFile(path: path, content: .symlink))
                case .typeRegular? where ManifestPaths.isManifestFile(name):
                    let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
                    if size > ManifestLimits.maxFileBytes {
                        files.append(SourceFile(path: path, content: .tooLarge(size: size)))
                    } else {
                        guard let handle = FileHandle(forReadingAtPath: full) else {
                            throw GitError(operation: "read \(Text.quoted(path))", code: -1, message: "cannot open file")
                        }
                        defer { try? handle.close() }
                        let data = try handle.read(upToCount: ManifestLimits.maxFileBytes + 1) ?? Data()
                        files.append(data.count > ManifestLimits.maxFileBytes
                            ? SourceFile(path: path, content: .tooLarge(size: data.count))
                            : SourceFile(path: path, content: .bytes(Array(data))))
                    }
                default:
                    continue
                }
            }
        }
        return files.sorted { $0.path < $1.path }
    }
}
