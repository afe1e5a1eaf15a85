import AccordCore
import AccordManifests
import Foundation
import Testing

/// The regions file (SPEC §9): what it names, and every mistake reported
/// at its place in the file. And the region check of a revision's tenants.
struct RegionsFileTests {
    static func write(_ text: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("accord-regions-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("regions.yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func problems(_ text: String) throws -> [String] {
        let path = try write(text)
        do {
            _ = try RegionsFileParser.load(file: path)
            return []
        } catch let error as SettingsFileError {
            #expect(error.what == "regions file")
            return error.diagnostics.map { "\($0.position.line):\($0.position.column): \($0.message)" }
        }
    }

    @Test func readsControlRegionsAndTimeoutWithPlacesAndPathsBesideTheFile() throws {
        let path = try Self.write("""
            control: {databaseUrlFile: /etc/accord/control.url}   # Accord's own schema and the registry
            regions:
              eu:   {databaseUrlFile: eu.url}
              apac: {databaseUrlFile: /etc/accord/apac.url}
            timeout: 30s

            """)
        let file = try RegionsFileParser.load(file: path)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        #expect(file.control.urlFile == "/etc/accord/control.url")
        #expect(file.regionNames == [.apac, .eu])
        #expect(file.regions[.eu]?.urlFile == dir + "/eu.url", "a relative URL file is beside the regions file")
        #expect(file.regions[.eu]?.position == SourcePosition(file: path, line: 3, column: 27))
        #expect(file.timeoutSeconds == 30)
        #expect(try RegionsFileParser.load(file: try Self.write("control: {databaseUrlFile: c}\nregions: {us: {databaseUrlFile: u}}\n")).timeoutSeconds
                == RegionsFile.defaultTimeoutSeconds)
    }

    @Test func everyMistakeIsReportedAtItsPlace() throws {
        let found = try Self.problems("""
            control: {databaseUrl: postgres://x}
            regions:
              eu: {databaseUrlFile: eu.url}
              mars: {databaseUrlFile: mars.url}
              us: {}
              apac: {databaseUrlFile: ""}
            timeout: soon
            extra: 1

            """)
        #expect(found == [
                "1:10: control: missing required field \"databaseUrlFile\" (a file holding the database's URL)",
                "1:11: control.databaseUrl: unknown field; the fields are databaseUrlFile",
                "4:3: regions.mars: unknown region \"mars\"; the regions are eu, us, apac",
                "5:7: regions.us: missing required field \"databaseUrlFile\" (a file holding the database's URL)",
                "6:27: regions.apac.databaseUrlFile: must be a non-empty string; got a string",
                "7:10: timeout: must be a duration such as 30s or 2m; got \"soon\"",
                "8:1: extra: unknown field; the fields are control, regions, timeout",
            ], "\(found)")
        #expect(try Self.problems("regions: {eu: {databaseUrlFile: e}}\n")
                == ["1:1: missing required field \"control\" (the database of Accord's own schema and the platform registry)"])
        #expect(try Self.problems("control: {databaseUrlFile: c}\nregions: {}\n")
                == ["2:10: regions: names no region; give at least one of eu, us, apac"])
        #expect(try Self.problems("control: {databaseUrlFile: c}\n---\ncontrol: {databaseUrlFile: d}\n").first?.contains("one YAML document, not 2") == true)
        #expect(throws: SettingsFileError.self) { try RegionsFileParser.load(file: "/nonexistent/regions.yaml") }
    }

    @Test func aTenantWhoseRegionHasNoDatabaseIsAnErrorAtItsRegion() throws {
        let set = ManifestSet.load([SourceFile(path: "tenants/a.yaml", content: .bytes(Array("""
            apiVersion: accord.dev/v1
            kind: Tenant
            metadata: {name: a}
            spec:
              displayName: A
              plan: pro
              region: apac

            """.utf8)))])
        #expect(set.isValid)
        let checked = RegionCheck.checked(set, regions: [.eu, .us], file: "/etc/accord/regions.yaml")
        #expect(checked.diagnostics.map(\.description) == [
            "tenants/a.yaml:7:11: spec.region: region apac has no database in the regions file \"/etc/accord/regions.yaml\" (it names eu, us); a tenant's data may live only in its region's database",
        ])
        #expect(RegionCheck.checked(set, regions: nil, file: "").isValid, "without a regions file every region is fine")
        #expect(RegionCheck.checked(set, regions: [.apac], file: "r").isValid)
    }
}
