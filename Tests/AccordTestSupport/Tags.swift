import Testing

extension Tag {
    /// Suites that assert the product's own wall-clock bounds (a standby
    /// takes over within 5 s, SIGTERM exits within 10 s, fetch backoff):
    /// `hack/test` runs them after the others, on a machine no longer loaded
    /// by the fault suites' hundreds of processes.
    @Tag public static var timeBounded: Self
}
