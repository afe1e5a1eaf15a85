import AccordController
import AccordCore
import AccordStore
import Foundation
import Hummingbird
import Logging
import Prometheus

/// The controller's HTTP endpoints (docs/controller.md):
///
/// - `GET /healthz` — the process serves requests;
/// - `GET /readyz` — 200 when this replica is ready (a standby connected to
///   the database, or a leader past its first pass), 503 otherwise; the body
///   names the role;
/// - `GET /metrics` — Prometheus text (with `--api-token-file`, only with
///   the bearer token);
/// - `POST /hooks/git` — a GitHub-style webhook that triggers a fetch
///   (`Webhook`);
/// - `GET /api/v1/objects` — every object's status, with retry times (with
///   `--api-token-file`, only with the bearer token);
/// - `GET /`, `/objects`, `/objects/KIND/…`, `/erasures`, `/models`,
///   `/history` — the HTML status page (`StatusPage`; off with
///   `--status-page=false`; behind the token like the API).
public enum HTTPServer {
    public struct Dependencies: Sendable {
        public let config: ControllerConfig
        public let state: ControllerState
        public let doorbell: Doorbell
        public let registry: PrometheusCollectorRegistry
        public let logger: Logger
        /// The webhook deliveries this process has accepted (one log per
        /// process: the server's dependencies are made once).
        public let deliveries: DeliveryLog

        public init(config: ControllerConfig, state: ControllerState, doorbell: Doorbell,
                    registry: PrometheusCollectorRegistry, logger: Logger, deliveries: DeliveryLog = DeliveryLog()) {
            self.config = config
            self.state = state
            self.doorbell = doorbell
            self.registry = registry
            self.logger = logger
            self.deliveries = deliveries
        }
    }

    public static func router(_ deps: Dependencies) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in
            json(.ok, .object(["status": .string("ok")]))
        }
        router.get("readyz") { _, _ in
            let s = await deps.state.current
            return json(s.ready ? .ok : .serviceUnavailable, Views.readiness(s))
        }
        router.post("hooks/git") { request, _ in
            try await Webhook.handle(request, deps)
        }
        // What tells about the platform (object names, tenants, revisions,
        // store names) answers only with the token, when one is configured.
        let guarded = router.group().add(middleware: TokenGate(token: deps.config.apiToken, logger: deps.logger))
        guarded.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(string: MetricsCatalog.withHelp(deps.registry.emitToString()))))
        }
        guarded.get("api/v1/objects") { request, _ in
            try await objects(deps, query: request.uri.queryParameters)
        }
        if deps.config.statusPage { StatusPage.routes(guarded, deps) }
        return router
    }

    /// The application: the router on the configured address; logs the
    /// address it listens on once bound.
    public static func application(_ deps: Dependencies) -> some ApplicationProtocol {
        let logger = deps.logger
        return Application(
            router: router(deps),
            configuration: .init(address: .hostname(deps.config.listenHost, port: deps.config.listenPort),
                                 serverName: "accord-controller"),
            onServerRunning: { channel in
                logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                                                    "port": "\(channel.localAddress?.port ?? 0)"])
            },
            logger: logger)
    }

    /// `?kind=Worker` (any case, singular or plural; `Source` for the
    /// repository alone) and `?tenant=acme`
    /// narrow the list; an unknown kind or parameter answers 400.
    static func objects(_ deps: Dependencies, query: Parameters) async throws -> Response {
        for (key, _) in query where key != "kind" && key != "tenant" {
            return json(.badRequest, .object(["error": .string("unknown parameter \(Text.quoted(String(key), limit: 40)); the filters are kind and tenant")]))
        }
        var kind: Kind?
        let kindText = query["kind"].map(String.init)
        let sourceOnly = kindText.map { ["source", "sources"].contains($0.lowercased()) } ?? false
        if let text = kindText, !sourceOnly {
            guard let named = Kind(named: text) else {
                return json(.badRequest, .object(["error": .string(
                    "\(Text.quoted(text, limit: 40)) is not a kind; the kinds are Source, \(Kind.allCases.sorted().map(\.rawValue).joined(separator: ", "))")]))
            }
            kind = named
        }
        let tenant = query["tenant"].map(String.init)
        let wantsSource = sourceOnly || (kind == nil && tenant == nil)
        let snapshot = await deps.state.current
        let statuses: [ObjectStatus]
        let source: SourceStatus?
        do {
            (statuses, source) = try await Database.withConnection(deps.config.databaseURL, logger: deps.logger) { connection in
                let session = Session(connection, logger: deps.logger).placing(deps.config.readRegions)
                guard try await Migrations.isCurrent(session) else { return ([ObjectStatus](), SourceStatus?.none) }
                return (sourceOnly ? [] : try await ObjectStatus.read(session, kind: kind, tenant: tenant),
                        wantsSource ? try await SourceStatus.read(session) : nil)
            }
        } catch {
            deps.logger.warning("reading object status failed", metadata: ["error": "\(error)"])
            return json(.serviceUnavailable, .object(["error": .string(String(describing: error))]))
        }
        return json(.ok, Views.objects(statuses, source: source, snapshot))
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.canonical + "\n")))
    }
}

/// The API token's check (`BearerToken`) before a guarded route: 401 with
/// the `WWW-Authenticate` challenge for a missing or wrong token; every
/// request passes when no token is configured.
struct TokenGate<Context: RequestContext>: RouterMiddleware {
    let token: [UInt8]?
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token else { return try await next(request, context) }
        let header = request.headers[.authorization]
        guard BearerToken.isValid(header, token: token) else {
            logger.notice("API request refused: \(header == nil ? "no" : "wrong") bearer token", metadata: ["path": "\(request.uri.path)"])
            var response = HTTPServer.json(.unauthorized, .object(["error": .string(
                "\(header == nil ? "missing" : "wrong") bearer token: send Authorization: Bearer <the token of --api-token-file>")]))
            response.headers[.wwwAuthenticate] = BearerToken.challenge
            return response
        }
        return try await next(request, context)
    }
}
