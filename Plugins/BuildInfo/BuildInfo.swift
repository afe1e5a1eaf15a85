import Foundation
import PackagePlugin

/// Writes `AccordBuild.commit` — the git commit the binaries are built
/// from — before every build (`hack/lib/build-info.sh`; the file is
/// rewritten only when the commit changes). A build outside a git
/// checkout (a container build that copies only the sources) takes
/// `ACCORD_COMMIT` from the environment, else says `unknown`.
@main
struct BuildInfo: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let package = context.package.directoryURL
        return [.prebuildCommand(
            displayName: "Accord build info (the git commit)",
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: [package.appending(path: "hack/lib/build-info.sh").path, package.path,
                        output.appending(path: "BuildCommit.swift").path],
            environment: ["ACCORD_COMMIT": ProcessInfo.processInfo.environment["ACCORD_COMMIT"] ?? "",
                          "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"],
            outputFilesDirectory: output)]
    }
}
