/// The regions file of SPEC §9 (`ACCORD_REGIONS_FILE`, `--regions-file`),
/// as read: where the control database's URL is, and each region's. It
/// lives outside the repository; `RegionsFileParser` (manifests) reads it,
/// `RegionDatabases` (store) opens what it names.
///
/// ```yaml
/// control: {databaseUrlFile: /etc/accord/control.url}
/// regions:
///   eu: {databaseUrlFile: /etc/accord/eu.url}
///   us: {databaseUrlFile: /etc/accord/us.url}
/// timeout: 30s          # optional: how long one statement in a region may take (default 60s)
/// ```
public struct RegionsFile: Sendable, Equatable {
    /// One database the file names: its URL file, and where in the file it is named.
    public struct Entry: Sendable, Equatable {
        public let urlFile: String
        public let position: SourcePosition

        public init(urlFile: String, position: SourcePosition) {
            self.urlFile = urlFile
            self.position = position
        }
    }

    /// The file it was read from.
    public let file: String
    public let control: Entry
    public let regions: [Region: Entry]
    /// How long one statement or transaction in a region's database may
    /// take before the region is cut off as unavailable.
    public let timeoutSeconds: Double

    public static let defaultTimeoutSeconds = 60.0

    public init(file: String, control: Entry, regions: [Region: Entry], timeoutSeconds: Double = defaultTimeoutSeconds) {
        self.file = file
        self.control = control
        self.regions = regions
        self.timeoutSeconds = timeoutSeconds
    }

    /// Every region with a database, in name order.
    public var regionNames: [Region] { regions.keys.sorted { $0.rawValue < $1.rawValue } }
}
