import AccordStore

/// What must hold after any fault (a killed applier, a crashed server):
/// every object as before or as after, one active key per tenant, a
/// certificate exactly for the completed erasures, no erasure run twice, an
/// intact audit chain. Returns the violations, empty when all hold.
public enum FaultInvariants {
    public static func violations(_ session: Session) async throws -> [String] {
        guard try await session.scalar("SELECT to_regclass('accord.erasure_certificates')::text") != nil else { return [] }
        let checks: [(String, String)] = [
            ("worker rows without their inventory entry", """
                SELECT count(*)::text FROM platform.workers w
                LEFT JOIN accord.inventory i ON i.kind = 'Worker' AND i.tenant = w.tenant AND i.name = w.name WHERE i.name IS NULL
                """),
            ("worker inventory entries without their row", """
                SELECT count(*)::text FROM accord.inventory i
                LEFT JOIN platform.workers w ON w.tenant = i.tenant AND w.name = i.name WHERE i.kind = 'Worker' AND w.name IS NULL
                """),
            ("tenants without exactly one active data key", """
                SELECT count(*)::text FROM platform.tenants t
                WHERE (SELECT count(*) FROM accord.tenant_keys k WHERE k.tenant = t.name AND k.retired_at IS NULL) <> 1
                """),
            ("certificates of erasures not completed", """
                SELECT count(*)::text FROM accord.erasure_certificates c JOIN platform.erasures e USING (tenant, name) WHERE e.status <> 'completed'
                """),
            ("completed erasures without a certificate", """
                SELECT count(*)::text FROM platform.erasures e WHERE e.status = 'completed'
                  AND NOT EXISTS (SELECT 1 FROM accord.erasure_certificates c WHERE c.tenant = e.tenant AND c.name = e.name)
                """),
            ("erasures run twice", """
                SELECT count(*)::text FROM (SELECT object FROM accord.audit_log WHERE action = 'erase' GROUP BY object HAVING count(*) > 1) x
                """),
        ]
        var out: [String] = []
        for (what, sql) in checks {
            let n = try await session.scalar(sql) ?? "?"
            if n != "0" { out.append("\(n) \(what)") }
        }
        if try await !AuditChain.verify(session).isIntact { out.append("the audit chain does not verify") }
        return out
    }
}
