import AccordCore
import AccordEngine
import ArgumentParser
import Crypto
import Foundation

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the keys a first apply needs.",
        subcommands: [Init.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a key-encryption key, a certificate-signing key and a model signer in DIR, and print the export lines.",
            discussion: """
                Writes, with modes Accord accepts (the directory 0700, private keys 0600): kek.b64 (32 random \
                bytes, base64; ACCORD_KEK_FILE), controller-signing.pem and .pub.pem (Ed25519; signs erasure \
                certificates; ACCORD_SIGNING_KEY_FILE), model-signer.pem (Ed25519; signs model digests) and \
                trusted/model-signer.pub.pem (ACCORD_TRUSTED_KEYS_DIR). --trust copies more public model keys \
                into trusted/ (for examples/platform: examples/keys/model-signing.pub.pem). An existing file is \
                never overwritten. Standard output is the export lines only: eval "$(accordctl keys init DIR)". \
                Exit status: 0, or 2 on error (nothing is left half-written).
                """
        )

        @Argument(help: "The directory to create the keys in (created when missing; must hold none of the files).")
        var directory: String

        @Option(help: "A public model-signing key (PEM or 32 raw bytes) to trust as well; repeatable.")
        var trust: [String] = []

        func run() async throws {
            do {
                try make()
            } catch let error as CLIError {
                Console.error(error)
                throw ExitCode(2)
            }
        }

        func make() throws {
            let dir = URL(fileURLWithPath: directory).standardizedFileURL
            let trusted = dir.appendingPathComponent("trusted")
            // Every public key to trust is read (and checked) before anything is written.
            var extra: [(name: String, pem: String)] = []
            for path in trust {
                do {
                    extra.append((Self.trustedName(path), Ed25519Keys.pem(try Ed25519Keys.publicKey(file: path))))
                } catch {
                    throw CLIError("--trust \(Text.quoted(path)): \(error)")
                }
            }
            let controller = Curve25519.Signing.PrivateKey()
            let model = Curve25519.Signing.PrivateKey()
            var kek = [UInt8](repeating: 0, count: 32)
            var rng = SystemRandomNumberGenerator()
            for i in kek.indices { kek[i] = rng.next() }
            let files: [(URL, String, Int)] = [
                (dir.appendingPathComponent("kek.b64"), Base64.encode(kek) + "\n", 0o600),
                (dir.appendingPathComponent("controller-signing.pem"), Ed25519Keys.privatePEM(controller), 0o600),
                (dir.appendingPathComponent("controller-signing.pub.pem"), Ed25519Keys.pem(controller.publicKey), 0o644),
                (dir.appendingPathComponent("model-signer.pem"), Ed25519Keys.privatePEM(model), 0o600),
                (trusted.appendingPathComponent("model-signer.pub.pem"), Ed25519Keys.pem(model.publicKey), 0o644),
            ] + extra.map { (trusted.appendingPathComponent($0.name), $0.pem, 0o644) }
            let fm = FileManager.default
            for (url, _, _) in files where fm.fileExists(atPath: url.path) {
                throw CLIError("\(Text.quoted(url.path)) exists; keys init never overwrites a key (choose an empty directory)")
            }
            let names = Set(files.map(\.0.lastPathComponent))
            if names.count != files.count {
                throw CLIError("two keys to trust have the same file name; rename one")
            }
            try Self.makeDirectory(dir, mode: 0o700)
            try Self.makeDirectory(trusted, mode: 0o755)
            var written: [URL] = []
            do {
                for (url, text, mode) in files {
                    try Self.write(text, to: url, mode: mode)
                    written.append(url)
                }
            } catch {
                for url in written { try? fm.removeItem(at: url) }
                throw CLIError("writing the keys in \(Text.quoted(dir.path)): \(error)")
            }
            Console.write("""
                export ACCORD_KEK_FILE=\(Self.shellQuoted(files[0].0.path))
                export ACCORD_SIGNING_KEY_FILE=\(Self.shellQuoted(files[1].0.path))
                export ACCORD_TRUSTED_KEYS_DIR=\(Self.shellQuoted(trusted.path))

                """)
            let fingerprint = Ed25519Keys.fingerprint(model.publicKey)
            FileHandle.standardError.write(Data("""
                accordctl: wrote a key-encryption key, a certificate-signing key and a model signer (\(fingerprint)) in \(dir.path); \
                trusted model keys: \(files.count - 4). Sign a model version's digest with hack/sign-digest \(dir.path)/model-signer.pem sha256:… (docs/models.md). \
                Keep the directory private and back the KEK up: tenant data keys cannot be unwrapped without it.

                """.utf8))
        }

        /// `model-signing.pub.pem` of examples/keys is trusted as
        /// `model-signing.pub.pem`; a raw key keeps its name with `.pem`.
        static func trustedName(_ path: String) -> String {
            let name = URL(fileURLWithPath: path).lastPathComponent
            return name.hasSuffix(".pem") ? name : name + ".pem"
        }

        static func makeDirectory(_ url: URL, mode: Int) throws {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else { throw CLIError("\(Text.quoted(url.path)) exists and is not a directory") }
                return
            }
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        }

        /// Created with its mode from the start (O_EXCL: never over another file).
        static func write(_ text: String, to url: URL, mode: Int) throws {
            let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL, mode_t(mode))
            guard fd >= 0 else { throw CLIError("cannot create \(Text.quoted(url.path)): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            let bytes = Array(text.utf8)
            guard bytes.withUnsafeBytes({ Foundation.write(fd, $0.baseAddress, $0.count) }) == bytes.count, fchmod(fd, mode_t(mode)) == 0 else {
                throw CLIError("cannot write \(Text.quoted(url.path)): \(String(cString: strerror(errno)))")
            }
        }

        static func shellQuoted(_ s: String) -> String {
            s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
    }
}
