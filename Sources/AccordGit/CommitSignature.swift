import AccordCore
import CLibGit2

/// A commit's signature block (the `gpgsig` header: an armored SSH or
/// OpenPGP signature) and the bytes it signs — the commit object without
/// that header — as git itself verifies them.
public struct CommitSignature: Sendable, Equatable {
    public let signature: String
    public let signedData: [UInt8]
}

extension GitRepository {
    /// The commit's signature, or nil when it has none.
    public func signature(of commit: String) async throws -> CommitSignature? {
        try await withRepository { repo in
            var oid = git_oid()
            try check("read commit \(Text.quoted(commit, limit: 40))", git_oid_fromstr(&oid, commit))
            var signature = git_buf(), data = git_buf()
            defer {
                git_buf_dispose(&signature)
                git_buf_dispose(&data)
            }
            let code = git_commit_extract_signature(&signature, &data, repo, &oid, nil)
            if code == GIT_ENOTFOUND.rawValue {
                // A commit without a signature, or no commit at all: tell them apart.
                _ = try GitObject.make("read commit \(commit.prefix(12))", free: git_commit_free) { git_commit_lookup($0, repo, &oid) }
                return nil
            }
            try check("read the signature of commit \(commit.prefix(12))", code)
            let text = signature.ptr.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: signature.size), as: UTF8.self) } ?? ""
            let bytes = data.ptr.map { Array(UnsafeRawBufferPointer(start: $0, count: data.size)) } ?? []
            return CommitSignature(signature: text, signedData: bytes)
        }
    }

    /// The commits reachable from `new` and not from `old` (every commit
    /// when `old` is nil), newest first, with their parents: what strict
    /// verification checks.
    public func commits(from old: String?, to new: String, limit: Int) async throws -> [(id: String, parents: [String])] {
        try await withRepository { repo in
            let walk = try GitObject.make("walk the history", free: git_revwalk_free) { git_revwalk_new($0, repo) }
            git_revwalk_sorting(walk.pointer, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_TIME.rawValue)
            var tip = git_oid()
            try check("read commit \(new.prefix(12))", git_oid_fromstr(&tip, new))
            try check("walk from \(new.prefix(12))", git_revwalk_push(walk.pointer, &tip))
            if let old {
                var base = git_oid()
                try check("read commit \(old.prefix(12))", git_oid_fromstr(&base, old))
                try check("walk to \(old.prefix(12))", git_revwalk_hide(walk.pointer, &base))
            }
            var out: [(id: String, parents: [String])] = []
            var oid = git_oid()
            while git_revwalk_next(&oid, walk.pointer) == 0 {
                guard out.count < limit else {
                    throw GitError(operation: "walk from \(new.prefix(12))", code: -1, message: "more than \(limit) commits to check")
                }
                let commit = try GitObject.make("read commit", free: git_commit_free) { git_commit_lookup($0, repo, &oid) }
                let parents = (0..<git_commit_parentcount(commit.pointer)).map { oidString(git_commit_parent_id(commit.pointer, $0)) }
                out.append((oidString(&oid), parents))
            }
            return out
        }
    }

    /// Whether `ancestor` is `commit` or one of its ancestors.
    public func isAncestor(_ ancestor: String, of commit: String) async throws -> Bool {
        try await withRepository { repo in
            var a = git_oid(), c = git_oid()
            try check("read commit \(ancestor.prefix(12))", git_oid_fromstr(&a, ancestor))
            try check("read commit \(commit.prefix(12))", git_oid_fromstr(&c, commit))
            if git_oid_equal(&a, &c) == 1 { return true }
            let result = git_graph_descendant_of(repo, &c, &a)
            guard result >= 0 else { try check("compare \(ancestor.prefix(12)) and \(commit.prefix(12))", result); return false }
            return result == 1
        }
    }
}
