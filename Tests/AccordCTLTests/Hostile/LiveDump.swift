import AccordTestSupport
import Foundation

/// Every row of every table Accord and the platform keep — the `platform`,
/// `accord`, `shared` and `tenant_*` schemas — with the row's version
/// (xmin), so that any write, even one that changes nothing visible, shows.
/// `accord.locks` is left out: it names whoever last took the advisory apply
/// lock (so that a waiting applier can say who holds it), which `apply` does
/// before it reads the repository; it holds no state of any object.
enum LiveDump {
    struct Dump: Equatable {
        var platform: [String] = []
        var accord: [String] = []
    }

    static func take(_ db: ScratchDatabase) async throws -> Dump {
        try await db.withSession { session in
            let tables = try await session.rows("""
                SELECT table_schema, table_name FROM information_schema.tables
                WHERE table_type = 'BASE TABLE'
                  AND (table_schema IN ('platform', 'accord', 'shared') OR table_schema LIKE 'tenant\\_%')
                  AND (table_schema, table_name) <> ('accord', 'locks')
                ORDER BY 1, 2
                """)
            var dump = Dump()
            for table in tables {
                let (schema, name) = try table.decode((String, String).self)
                let qualified = "\"\(schema)\".\"\(name)\""
                var lines = ["table \(qualified)"]
                for row in try await session.rows("SELECT t::text || ' @' || xmin::text FROM \(qualified) t ORDER BY 1") {
                    lines.append(try row.decode(String.self))
                }
                if schema == "accord" { dump.accord += lines } else { dump.platform += lines }
            }
            return dump
        }
    }
}
