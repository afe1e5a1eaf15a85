import AccordCore
import AccordStore
import Foundation

/// A control database and one database per region, each a scratch
/// database of the test server (SPEC §9), with the URL files and the
/// regions file that name them.
public struct RegionFixture: Sendable {
    public let control: ScratchDatabase
    public let regions: [Region: ScratchDatabase]
    public let directory: URL

    /// Four databases: control, eu, us and apac.
    public static func make(_ regions: [Region] = [.eu, .us, .apac]) async throws -> RegionFixture {
        let control = try await TestDatabase.scratch()
        var out: [Region: ScratchDatabase] = [:]
        for r in regions { out[r] = try await TestDatabase.scratch() }
        return RegionFixture(control: control, regions: out, directory: try SecretFixture.directory("accord-regions"))
    }

    /// Writes the URL files and the regions file; `urls` replaces a
    /// region's URL (a database that is down), `omit` leaves a region out.
    public func file(urls: [Region: String] = [:], omit: Set<Region> = [], timeout: String? = nil) throws -> String {
        try SecretFixture.write(control.urlText + "\n", to: directory.appendingPathComponent("control.url"))
        var yaml = "control: {databaseUrlFile: control.url}\nregions:\n"
        for (region, db) in regions.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where !omit.contains(region) {
            try SecretFixture.write((urls[region] ?? db.urlText) + "\n", to: directory.appendingPathComponent("\(region.rawValue).url"))
            yaml += "  \(region.rawValue): {databaseUrlFile: \(region.rawValue).url}\n"
        }
        if let timeout { yaml += "timeout: \(timeout)\n" }
        let path = directory.appendingPathComponent("regions-\(UUID().uuidString.prefix(6)).yaml").path
        try SecretFixture.write(yaml, to: URL(fileURLWithPath: path), mode: 0o644)
        return path
    }

    /// The databases as a regions file would name them (without the YAML).
    public func databases(urls: [Region: String] = [:], omit: Set<Region> = [], timeoutSeconds: Double = 30,
                          readOnly: Bool = false) throws -> RegionDatabases {
        _ = try file(urls: urls, omit: omit)
        func entry(_ name: String) -> RegionsFile.Entry {
            RegionsFile.Entry(urlFile: directory.appendingPathComponent(name).path, position: .start(of: "regions.yaml"))
        }
        var entries: [Region: RegionsFile.Entry] = [:]
        for region in regions.keys where !omit.contains(region) { entries[region] = entry("\(region.rawValue).url") }
        return try RegionDatabases.open(RegionsFile(file: "regions.yaml", control: entry("control.url"), regions: entries,
                                                    timeoutSeconds: timeoutSeconds), readOnly: readOnly)
    }

    /// Runs `body` on the control database's session, placed in `regions`.
    public func withSession<T: Sendable>(_ regions: RegionDatabases, _ body: (Session) async throws -> T) async throws -> T {
        let value = try await control.withSession { try await body($0.placing(regions)) }
        await regions.close()
        return value
    }

    public func drop() async {
        await control.drop()
        for db in regions.values { await db.drop() }
        try? FileManager.default.removeItem(at: directory)
    }
}
