import Testing

extension Tag {
    /// Suites that assert the product's own wall-clock bounds (a standby
    /// takes over within 5 s, SIGTERM exits within 10 s, fetch backoff):
    /// `hack/test` runs them after the others, on a machine no longer loaded
    /// by the fault suites' hundreds of processes.
    @Tag public static var timeBounded: Self

    /// Suites whose every test migrates several databases (the regions
    /// suites) or plans hundreds of revisions: `hack/test` runs them as a
    /// phase of their own, after the others and before the time-bounded
    /// ones, so their load does not starve other tests' bounds.
    @Tag public static var heavy: Self
}
