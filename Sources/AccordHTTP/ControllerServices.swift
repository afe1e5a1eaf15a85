import AccordController
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Everything one `accord-controller` process runs, wired in one place:
/// the executable builds it here, and so do the tests (Hummingbird's
/// `buildApplication` habit), so what is tested is what runs.
public struct ControllerServices: Sendable {
    public let config: ControllerConfig
    public let state: ControllerState
    public let doorbell: Doorbell
    public let registry: PrometheusCollectorRegistry
    public let metrics: ControllerMetrics
    public let controller: Controller
    /// What the HTTP endpoints read (`HTTPServer`).
    public let http: HTTPServer.Dependencies
    let logger: Logger

    /// `logHandler` makes the handler of each logger by its label
    /// (`accord.controller`, `accord.http`).
    public static func build(config: ControllerConfig,
                             logHandler: @escaping @Sendable (String) -> any LogHandler) -> ControllerServices {
        let logger = Logger(label: "accord.controller", factory: logHandler)
        let registry = PrometheusCollectorRegistry()
        let metrics = ControllerMetrics(factory: PrometheusMetricsFactory(registry: registry))
        let state = ControllerState()
        let doorbell = Doorbell()
        let controller = Controller(config: config, state: state, metrics: metrics, doorbell: doorbell, logger: logger)
        let http = HTTPServer.Dependencies(config: config, state: state, doorbell: doorbell, registry: registry,
                                           logger: Logger(label: "accord.http", factory: logHandler))
        return ControllerServices(config: config, state: state, doorbell: doorbell, registry: registry, metrics: metrics,
                                  controller: controller, http: http, logger: logger)
    }

    /// The controller and its HTTP server as one group: SIGTERM or SIGINT
    /// lets the transaction in hand commit and stops both within 10 s; the
    /// controller ending (it never does on its own) ends the group.
    public func serviceGroup() -> ServiceGroup {
        var group = ServiceGroupConfiguration(
            services: [
                .init(service: HTTPServer.application(http), serviceName: "http"),
                .init(service: controller, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "controller"),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(9)
        return ServiceGroup(configuration: group)
    }
}
