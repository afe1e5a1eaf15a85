import AccordCore
import Testing

/// Kinds and object identities as people type them on a command line.
@Suite struct IdentityParsingTests {
    @Test func kindsInAnyCaseSingularOrPlural() {
        for (text, kind) in [("Worker", Kind.worker), ("worker", .worker), ("WORKERS", .worker), ("retentionpolicy", .retentionPolicy),
                             ("RetentionPolicies", .retentionPolicy), ("stores", .store), ("erasures", .erasure)] {
            #expect(Kind(named: text) == kind, "\(text)")
        }
        for text in ["", "work", "retentionpolicys", "Tenantss", "Worker/x"] { #expect(Kind(named: text) == nil, "\(text)") }
    }

    @Test func identitiesAndWhatIsWrongWithThem() {
        #expect(ObjectID(parsing: "tenant/acme") == ObjectID(kind: .tenant, name: "acme"))
        #expect(ObjectID(parsing: "Worker/acme/analyst") == ObjectID(kind: .worker, tenant: "acme", name: "analyst"))
        for (text, problem) in [
            ("Worker/nope", "a Worker belongs to a tenant: Worker/TENANT/NAME, not \"Worker/nope\""),
            ("Model/a/b", "a Model belongs to no tenant: Model/NAME, not \"Model/a/b\""),
            ("Gadget/x", "\"Gadget\" is not a kind; the kinds are Notification, Store, Model, RetentionPolicy, Tenant, Worker, Erasure, Workflow"),
            ("Erasure/acme/", "\"Erasure/acme/\" has an empty part: Erasure/TENANT/NAME"),
            ("Tenant", "a Tenant belongs to no tenant: Tenant/NAME, not \"Tenant\""),
        ] {
            guard case .failure(let found) = ObjectID.parse(text) else { Issue.record("\(text) parsed"); continue }
            #expect(found.description == problem)
        }
    }
}
