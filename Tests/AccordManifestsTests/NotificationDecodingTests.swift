import AccordCore
import AccordManifests
import Testing

/// The Notification kind (SPEC §11): what decodes, and every refusal at its place.
@Suite struct NotificationDecodingTests {
    static func notification(_ spec: String, name: String = "hooks") -> String {
        "apiVersion: accord.dev/v1\nkind: Notification\nmetadata:\n  name: \(name)\nspec:\n" + spec
    }

    @Test func eachTypeDecodesWithItsFilters() throws {
        let set = load([
            "n/webhook.yaml": Self.notification("""
                  type: webhook
                  address: https://hooks.example.com/accord?team=dpo
                  secret: hook-key
                  events: [ErasureCompleted, ErasureOverdue]
                  tenants: [acme, northwind]
                  kinds: [Erasure]

                """),
            "n/slack.yaml": Self.notification("  type: slack\n  secret: slack-url\n", name: "slack"),
            "n/github.yaml": Self.notification("  type: github\n  address: https://ghe.example.com/api/v3/repos/platform/state\n  secret: gh-token\n",
                                               name: "commits"),
            "n/local.yaml": Self.notification("  type: github\n  address: http://127.0.0.1:8080/repos/o/r\n  secret: gh-token\n", name: "local"),
        ])
        #expect(messages(set) == [])
        let specs = Dictionary(uniqueKeysWithValues: set.manifests.compactMap { m -> (String, NotificationSpec)? in
            if case .notification(let n) = m.spec { (m.metadata.name, n) } else { nil }
        })
        let hooks = try #require(specs["hooks"])
        #expect(hooks.type == .webhook && hooks.address == "https://hooks.example.com/accord?team=dpo" && hooks.secret == "hook-key")
        #expect(hooks.events == [.erasureCompleted, .erasureOverdue] && hooks.tenants == ["acme", "northwind"] && hooks.kinds == [.erasure])
        #expect(specs["slack"]?.address == nil && specs["slack"]?.events == nil)
        #expect(specs["commits"]?.type == .github && specs["local"]?.address == "http://127.0.0.1:8080/repos/o/r")
    }

    @Test(arguments: [
        ("  type: webhook\n  secret: k\n", "f.yaml:6:3: spec: missing required field \"address\" (the receiver's URL)"),
        ("  type: slack\n  address: https://hooks.slack.com/services/T/B/X\n  secret: k\n",
         "f.yaml:7:3: spec.address: not allowed for slack: an incoming-webhook URL carries its token, so it goes in the file spec.secret names"),
        ("  type: webhook\n  address: https://user:pw@hooks.example.com/x\n  secret: k\n",
         "f.yaml:7:12: spec.address: <a value that looks like an e-mail address> holds credentials; put them in the file spec.secret names"),
        ("  type: webhook\n  address: ftp://hooks.example.com/x\n  secret: k\n",
         "f.yaml:7:12: spec.address: \"ftp://hooks.example.com/x\" is not an http(s):// URL"),
        ("  type: github\n  address: http://github.example.com/repos/o/r\n  secret: k\n",
         "f.yaml:7:12: spec.address: \"http://github.example.com/repos/o/r\" is plain http; the token goes to GitHub only over https (http is allowed for a loopback stand-in)"),
        ("  type: github\n  address: https://api.github.com/repos/o/r\n  secret: k\n  events: [ModelPromoted]\n",
         "f.yaml:9:3: spec.events: not allowed for github: a github notification sets the commit status accord/apply on each applied commit, for every object"),
        ("  type: webhook\n  address: https://h.example.com\n  secret: k\n  events: [erasurecompleted]\n",
         "f.yaml:9:12: spec.events[0]: \"erasurecompleted\" is not an event (did you mean ErasureCompleted?); the events are ErasureCompleted, ErasureSLAWarning, ErasureSLAEscalated, ErasureOverdue, PromotionBlocked, ModelPromoted, ReconcileFailed, ObjectStalled, DriftReverted, TenantOnboarded, TenantSuspended or SourceVerificationFailed"),
        ("  type: webhook\n  address: https://h.example.com\n  secret: k\n  events: [ApplySucceeded]\n",
         "f.yaml:9:12: spec.events[0]: \"ApplySucceeded\" is not an event; the events are ErasureCompleted, ErasureSLAWarning, ErasureSLAEscalated, ErasureOverdue, PromotionBlocked, ModelPromoted, ReconcileFailed, ObjectStalled, DriftReverted, TenantOnboarded, TenantSuspended or SourceVerificationFailed"),
        ("  type: webhook\n  address: https://h.example.com\n  secret: k\n  tenants: [acme, acme]\n",
         "f.yaml:9:19: spec.tenants[1]: \"acme\" is listed twice"),
        ("  type: webhook\n  address: https://h.example.com\n  secret: k\n  kinds: [Gadget]\n",
         "f.yaml:9:11: spec.kinds[0]: must be one of Tenant, Worker, Workflow, RetentionPolicy, Model, Erasure, Store or Notification; got \"Gadget\""),
        ("  type: webhook\n  address: https://h.example.com\n  secret: ../k\n",
         "f.yaml:8:11: spec.secret: \"../k\" is not a plain file name under ACCORD_SECRETS_DIR (letters, digits, '.', '_' and '-', not starting with '.' or '-'; no directories)"),
        ("  type: pager\n  secret: k\n", "f.yaml:6:9: spec.type: must be one of webhook, slack or github; got \"pager\""),
    ])
    func badSpecsAreRefusedAtTheirPlace(_ spec: String, _ expected: String) {
        #expect(messages(load(["f.yaml": Self.notification(spec)])) == [expected])
    }

    @Test func aNotificationIsClusterScoped() {
        let text = "apiVersion: accord.dev/v1\nkind: Notification\nmetadata:\n  name: n\n  tenant: acme\nspec:\n  type: slack\n  secret: k\n"
        #expect(messages(load(["f.yaml": text])) == ["f.yaml:5:3: metadata.tenant: not allowed: Notification objects are cluster-scoped"])
    }
}
