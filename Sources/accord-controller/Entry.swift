import AccordBuildInfo
import AccordController
import AccordCore
import AccordHTTP
import Foundation
import Logging

/// The reconciliation daemon: reads its settings (the command line over
/// the environment, both from `ControllerSettings.all`), builds its
/// services once (`ControllerServices`, as the tests do) and runs them
/// until SIGTERM or SIGINT.
@main
enum AccordControllerMain {
    static func main() async {
        let flags: [String: String]
        do {
            switch try ControllerCommandLine.parse(Array(CommandLine.arguments.dropFirst())) {
            case .help:
                print(ControllerCommandLine.help, terminator: "")
                return
            case .version:
                print("accord-controller \(AccordBuild.description)")
                return
            case .run(let given):
                flags = given
            }
        } catch {
            fail("\(error) (see accord-controller --help)")
        }
        let config: ControllerConfig
        do {
            config = try ControllerConfig.resolve(flags: flags, environment: ProcessInfo.processInfo.environment)
        } catch {
            fail("\(error)")
        }
        let redactor = LogRedactor(secrets: config.secrets)
        let handler: @Sendable (String) -> any LogHandler = { label in
            StructuredLogHandler(label: label, level: config.logLevel, format: config.logFormat,
                                 sink: StandardErrorSink(), redactor: redactor)
        }
        LoggingSystem.bootstrap(handler)
        let services = ControllerServices.build(config: config, logHandler: handler)
        let logger = Logger(label: "accord.controller")
        logger.info("starting", metadata: ["config": "\(config)"])
        for warning in config.trustedKeys?.warnings ?? [] { logger.warning("\(warning)") }
        do {
            try await services.serviceGroup().run()
        } catch {
            logger.critical("stopped on an error", metadata: ["error": "\(error)"])
            exit(1)
        }
    }

    /// A bad setting: exit 2 before anything starts.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("accord-controller: error: \(message)\n".utf8))
        exit(2)
    }
}
