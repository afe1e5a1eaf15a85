import AccordCore
import CLibGit2

/// Walks a commit's tree without recursion and without a checkout. Runs
/// on a libgit2 thread (`GitThread`), with that thread's repository handle.
struct TreeReader {
    let repo: OpaquePointer

    func tree(ofCommit commitID: String) throws -> GitObject {
        var oid = git_oid()
        try check("read commit \(Text.quoted(commitID, limit: 40))", git_oid_fromstr(&oid, commitID))
        let commit = try GitObject.make("read commit \(commitID.prefix(12))", free: git_commit_free) {
            git_commit_lookup($0, repo, &oid)
        }
        return try GitObject.make("read tree of \(commitID.prefix(12))", free: git_tree_free) {
            git_commit_tree($0, commit.pointer)
        }
    }

    /// A manifest file in a tree: its path, blob id, and whether it is a
    /// symbolic link. A value (the id's 20 bytes copied): it may go to
    /// another thread, which reads it with a repository of its own.
    struct Entry: @unchecked Sendable {
        let path: String
        let oid: git_oid
        let isSymlink: Bool
    }

    func files(commit: String, under directory: String) throws -> [SourceFile] {
        try read(entries(commit: commit, under: directory))
    }

    /// The files of tree entries (as `entries` gives them), in their order.
    func read(_ entries: some Collection<Entry>) throws -> [SourceFile] {
        let odb = try GitObject.make("open object database", free: git_odb_free) { git_repository_odb($0, repo) }
        return try entries.map { entry in
            var oid = entry.oid
            return entry.isSymlink
                ? SourceFile(path: entry.path, content: .symlink, blobID: oidString(&oid))
                : try blob(odb.pointer, &oid, entry.path)
        }
    }

    /// The named files of a commit (paths from `entries`), read by path.
    func files(commit: String, paths: [String]) throws -> [SourceFile] {
        let root = try tree(ofCommit: commit)
        let odb = try GitObject.make("open object database", free: git_odb_free) { git_repository_odb($0, repo) }
        return try paths.map { path in
            var entry: OpaquePointer?
            let rc = git_tree_entry_bypath(&entry, root.pointer, path)
            try check("read \(Text.quoted(path))", rc)
            defer { git_tree_entry_free(entry) }
            var oid = git_tree_entry_id(entry).pointee
            if git_tree_entry_filemode(entry) == GIT_FILEMODE_LINK {
                return SourceFile(path: path, content: .symlink, blobID: oidString(&oid))
            }
            return try blob(odb.pointer, &oid, path)
        }
    }

    /// The id of the tree at `directory` (the commit's root tree for ""):
    /// equal ids mean equal contents, every file and subdirectory alike.
    func treeID(commit: String, under directory: String) throws -> String {
        oidString(git_tree_id(try subtree(commit: commit, directory).pointer))
    }

    /// The tree at `directory` of the commit (its root tree for "").
    func subtree(commit: String, _ directory: String) throws -> GitObject {
        let root = try tree(ofCommit: commit)
        guard !directory.isEmpty else { return root }
        var entry: OpaquePointer?
        let rc = git_tree_entry_bypath(&entry, root.pointer, directory)
        if rc == GIT_ENOTFOUND.rawValue {
            throw GitError(operation: "read \(Text.quoted(directory))", code: rc, message: "no such directory at commit \(commit.prefix(12))")
        }
        try check("read \(Text.quoted(directory))", rc)
        defer { git_tree_entry_free(entry) }
        guard git_tree_entry_type(entry) == GIT_OBJECT_TREE else {
            throw GitError(operation: "read \(Text.quoted(directory))", code: -1, message: "not a directory at commit \(commit.prefix(12))")
        }
        return try GitObject.make("read \(Text.quoted(directory))", free: git_tree_free) {
            git_tree_lookup($0, repo, git_tree_entry_id(entry))
        }
    }

    /// The blob ids of those of `paths` that are files of the commit
    /// (missing ones left out), read by path without walking the tree.
    func blobIDs(commit: String, paths: [String]) throws -> [(path: String, blobID: String)] {
        let root = try tree(ofCommit: commit)
        var out: [(path: String, blobID: String)] = []
        for path in paths {
            var entry: OpaquePointer?
            let rc = git_tree_entry_bypath(&entry, root.pointer, path)
            if rc == GIT_ENOTFOUND.rawValue { continue }
            try check("read \(Text.quoted(path))", rc)
            defer { git_tree_entry_free(entry) }
            guard git_tree_entry_type(entry) == GIT_OBJECT_BLOB else { continue }
            out.append((path, oidString(git_tree_entry_id(entry))))
        }
        return out
    }

    /// The manifest files under `directory`, without reading their contents.
    func entries(commit: String, under directory: String) throws -> [Entry] {
        let start = try subtree(commit: commit, directory)
        var files: [Entry] = []
        var pending: [(GitObject, String)] = [(start, directory)]
        while let (tree, prefix) = pending.popLast() {
            for i in 0..<git_tree_entrycount(tree.pointer) {
                guard let entry = git_tree_entry_byindex(tree.pointer, i) else { continue }
                let name = String(cString: git_tree_entry_name(entry))
                guard !ManifestPaths.isHidden(name) else { continue }
                let path = prefix.isEmpty ? name : "\(prefix)/\(name)"
                switch git_tree_entry_filemode(entry) {
                case GIT_FILEMODE_TREE:
                    let sub = try GitObject.make("read \(Text.quoted(path))", free: git_tree_free) {
                        git_tree_lookup($0, repo, git_tree_entry_id(entry))
                    }
                    pending.append((sub, path))
                case GIT_FILEMODE_LINK where ManifestPaths.isManifestFile(name):
                    files.append(Entry(path: path, oid: git_tree_entry_id(entry).pointee, isSymlink: true))
                case GIT_FILEMODE_BLOB where ManifestPaths.isManifestFile(name),
                     GIT_FILEMODE_BLOB_EXECUTABLE where ManifestPaths.isManifestFile(name):
                    files.append(Entry(path: path, oid: git_tree_entry_id(entry).pointee, isSymlink: false))
                default:
                    continue // other files, other links, submodules
                }
            }
        }
        return files.sorted { $0.path.utf8Precedes($1.path) }
    }

    /// Reads a blob, checking its size from the object header first so an
    /// oversized file is never loaded.
    private func blob(_ odb: OpaquePointer, _ id: UnsafePointer<git_oid>?, _ path: String) throws -> SourceFile {
        let blobID = oidString(id)
        var size = 0
        var type = GIT_OBJECT_ANY
        try check("read \(Text.quoted(path))", git_odb_read_header(&size, &type, odb, id))
        guard size <= ManifestLimits.maxFileBytes else {
            return SourceFile(path: path, content: .tooLarge(size: size), blobID: blobID)
        }
        let blob = try GitObject.make("read \(Text.quoted(path))", free: git_blob_free) {
            git_blob_lookup($0, repo, id)
        }
        let count = Int(git_blob_rawsize(blob.pointer))
        let bytes = count == 0 ? [] : Array(UnsafeRawBufferPointer(start: git_blob_rawcontent(blob.pointer), count: count))
        return SourceFile(path: path, content: .bytes(bytes), blobID: blobID)
    }
}
