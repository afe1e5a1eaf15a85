import Mustache

/// The status page's templates (Mustache; `{{value}}` is HTML-escaped, and
/// no template uses the unescaped form): a shared header and footer, one
/// template per page. Plain HTML and a little CSS: readable on a phone,
/// tables with captions and column headers, a filter form with labels, no
/// JavaScript.
enum StatusPageTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in all {
            // The templates are constants of this file: one that does not parse is a bug caught by every test.
            try! library.register(text, named: name)
        }
        return library
    }()

    static let all: [(String, String)] = [
        ("header", header), ("footer", footer), ("overview", overview), ("objects", objects), ("object", object),
        ("erasures", erasures), ("models", models), ("history", history), ("problem", problem),
    ]

    static let header = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Accord</title>
        <style>
        :root { color-scheme: light dark; --muted: #6b7280; --bad: #b91c1c; --good: #15803d; --warn: #b45309; --line: #d1d5db; }
        body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; }
        header { padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
        nav a { margin-right: 1rem; } nav a.brand { font-weight: 700; }
        main { padding: 0 1rem 2rem; max-width: 80rem; }
        h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; min-width: 100%; font-size: .92rem; }
        caption { text-align: left; font-weight: 600; padding: .3rem 0; }
        th, td { text-align: left; padding: .3rem .6rem .3rem 0; border-bottom: 1px solid var(--line); vertical-align: top; }
        td.num, th.num { text-align: right; }
        code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; word-break: break-all; }
        .bad { color: var(--bad); font-weight: 600; } .good { color: var(--good); } .warn { color: var(--warn); font-weight: 600; }
        .muted { color: var(--muted); }
        form.filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin: 1rem 0; }
        form.filters label { display: flex; flex-direction: column; font-size: .85rem; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
        footer { color: var(--muted); font-size: .8rem; padding: 1rem; }
        </style>
        </head>
        <body>
        <header><nav aria-label="Sections"><a class="brand" href="/">Accord</a><a href="/objects">Objects</a><a href="/erasures">Erasures</a><a href="/models">Models</a><a href="/history">History</a></nav></header>
        <main>
        <h1>{{title}}</h1>

        """

    static let footer = """
        </main>
        <footer>accord-controller {{version}} · rendered at {{now}} in {{elapsedMs}} ms</footer>
        </body>
        </html>

        """

    static let overview = """
        {{> header}}
        <section aria-labelledby="source">
        <h2 id="source">Source</h2>
        {{#source}}
        <dl class="facts">
        <dt>Repository</dt><dd><code>{{url}}</code> · branch <code>{{branch}}</code>{{#path}} · path <code>{{path}}</code>{{/path}}</dd>
        <dt>Applied</dt><dd><code>{{applied}}</code>{{#appliedAt}} at {{appliedAt}}{{/appliedAt}}</dd>
        <dt>Fetched</dt><dd><code>{{fetched}}</code>{{#fetchedAt}} at {{fetchedAt}}{{/fetchedAt}}</dd>
        <dt>Verified</dt><dd class="{{verifiedClass}}">{{verified}}</dd>
        <dt>State</dt><dd class="{{readyClass}}">{{message}}</dd>
        </dl>
        {{/source}}
        {{^source}}<p class="muted">No repository recorded: no controller has fetched one for this database yet.</p>{{/source}}
        <p>This controller: <strong>{{role}}</strong>, {{readiness}}{{#lastPass}}; last pass {{lastPass}}{{/lastPass}}.</p>
        </section>

        <section aria-labelledby="objects">
        <h2 id="objects">Objects</h2>
        <div class="scroll"><table>
        <caption>{{totalObjects}} objects by kind and condition</caption>
        <thead><tr><th scope="col">Kind</th><th scope="col" class="num">Objects</th><th scope="col" class="num">Not ready</th><th scope="col" class="num">Stalled</th></tr></thead>
        <tbody>
        {{#kinds}}<tr><th scope="row"><a href="/objects?kind={{kind}}">{{kind}}</a></th><td class="num">{{total}}</td><td class="num">{{#notReady}}<a class="bad" href="/objects?kind={{kind}}&amp;condition=not-ready">{{notReady}}</a>{{/notReady}}{{^notReady}}0{{/notReady}}</td><td class="num">{{#stalled}}<a class="bad" href="/objects?kind={{kind}}&amp;condition=stalled">{{stalled}}</a>{{/stalled}}{{^stalled}}0{{/stalled}}</td></tr>
        {{/kinds}}
        </tbody>
        </table></div>
        </section>

        <section aria-labelledby="erasures">
        <h2 id="erasures">Open erasures</h2>
        <p>{{erasuresOpen}} open{{#erasureStages}}: <span class="{{warningClass}}">{{warning}} past 48h</span>, <span class="{{escalationClass}}">{{escalation}} past 60h</span>, <span class="{{overdueClass}}">{{overdue}} overdue</span>{{/erasureStages}} · <a href="/erasures">by deadline</a></p>
        </section>

        <section aria-labelledby="passes">
        <h2 id="passes">Last passes</h2>
        <div class="scroll"><table>
        <caption>The last recorded passes · <a href="/history">all history</a></caption>
        <thead><tr><th scope="col">Started</th><th scope="col">Revision</th><th scope="col">Result</th><th scope="col" class="num">Objects</th><th scope="col">Changes</th><th scope="col">Merkle root</th></tr></thead>
        <tbody>
        {{#passes}}<tr><td>{{startedAt}}</td><td><code>{{revision}}</code></td><td class="{{resultClass}}">{{result}}</td><td class="num">{{objects}}</td><td>{{changes}}</td><td><code>{{merkleShort}}</code></td></tr>
        {{/passes}}
        {{^passes}}<tr><td colspan="6" class="muted">No pass recorded yet.</td></tr>{{/passes}}
        </tbody>
        </table></div>
        </section>

        {{#hasStores}}
        <section aria-labelledby="stores">
        <h2 id="stores">Stores</h2>
        <div class="scroll"><table>
        <caption>External stores and their health</caption>
        <thead><tr><th scope="col">Store</th><th scope="col">Up</th><th scope="col">Checked</th><th scope="col">Message</th></tr></thead>
        <tbody>
        {{#stores}}<tr><th scope="row"><a href="/objects/Store/{{nameURL}}">{{name}}</a></th><td class="{{upClass}}">{{up}}</td><td>{{checkedAt}}</td><td>{{message}}</td></tr>
        {{/stores}}
        </tbody>
        </table></div>
        </section>
        {{/hasStores}}

        {{#hasRegions}}
        <section aria-labelledby="regions">
        <h2 id="regions">Regions</h2>
        <div class="scroll"><table>
        <caption>Each region's database, as the last pass found it</caption>
        <thead><tr><th scope="col">Region</th><th scope="col">Up</th><th scope="col">Checked</th><th scope="col">Message</th></tr></thead>
        <tbody>
        {{#regions}}<tr><th scope="row">{{name}}</th><td class="{{upClass}}">{{up}}</td><td>{{checkedAt}}</td><td>{{message}}</td></tr>
        {{/regions}}
        </tbody>
        </table></div>
        </section>
        {{/hasRegions}}

        {{#hasNotifications}}
        <section aria-labelledby="notifications">
        <h2 id="notifications">Notifications</h2>
        <div class="scroll"><table>
        <caption>Where events go, and how their deliveries fare</caption>
        <thead><tr><th scope="col">Notification</th><th scope="col">Type</th><th scope="col" class="num">Sent</th><th scope="col" class="num">Waiting</th><th scope="col" class="num">Failed attempts</th><th scope="col">Last error</th></tr></thead>
        <tbody>
        {{#notifications}}<tr><th scope="row"><a href="/objects/Notification/{{nameURL}}">{{name}}</a></th><td>{{type}}</td><td class="num">{{sent}}</td><td class="num">{{pending}}</td><td class="num">{{failures}}</td><td class="{{errorClass}}">{{lastError}}</td></tr>
        {{/notifications}}
        </tbody>
        </table></div>
        </section>
        {{/hasNotifications}}
        {{> footer}}
        """

    static let objects = """
        {{> header}}
        <form class="filters" method="get" action="/objects">
        <label for="kind">Kind
        <select id="kind" name="kind">
        {{#kindOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kindOptions}}
        </select></label>
        <label for="tenant">Tenant
        <input id="tenant" name="tenant" value="{{tenant}}" size="16" autocomplete="off"></label>
        <label for="condition">Condition
        <select id="condition" name="condition">
        {{#conditionOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/conditionOptions}}
        </select></label>
        <button type="submit">Show</button>
        </form>
        <div class="scroll"><table>
        <caption>{{total}} objects{{#filtered}} match{{/filtered}}{{#pageNote}} · {{pageNote}}{{/pageNote}}</caption>
        <thead><tr><th scope="col">Object</th><th scope="col">Ready</th><th scope="col">Stalled</th><th scope="col">Applied</th><th scope="col">Message</th></tr></thead>
        <tbody>
        {{#rows}}<tr><th scope="row"><a href="{{path}}">{{id}}</a></th><td class="{{readyClass}}">{{ready}}</td><td class="{{stalledClass}}">{{stalled}}</td><td><code>{{applied}}</code></td><td>{{message}}</td></tr>
        {{/rows}}
        {{^rows}}<tr><td colspan="5" class="muted">No object matches.</td></tr>{{/rows}}
        </tbody>
        </table></div>
        <nav aria-label="Pages"><p>{{#first}}<a href="{{first}}">First page</a>{{/first}} {{#next}}<a rel="next" href="{{next}}">Next page</a>{{/next}}</p></nav>
        {{> footer}}
        """

    static let object = """
        {{> header}}
        <p class="{{readyClass}}">{{message}}</p>
        <div class="scroll"><table>
        <caption>Conditions</caption>
        <thead><tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Reason</th><th scope="col">Message</th></tr></thead>
        <tbody>
        {{#conditions}}<tr><th scope="row">{{type}}</th><td>{{status}}</td><td>{{reason}}</td><td>{{message}}</td></tr>
        {{/conditions}}
        </tbody>
        </table></div>
        <h2>Revisions</h2>
        <dl class="facts">
        <dt>Generation</dt><dd>{{generation}} (observed {{observed}})</dd>
        <dt>Applied</dt><dd><code>{{applied}}</code></dd>
        <dt>Attempted</dt><dd><code>{{attempted}}</code></dd>
        {{#sourcePath}}<dt>File</dt><dd><code>{{sourcePath}}</code></dd>{{/sourcePath}}
        {{#database}}<dt>Database</dt><dd>{{database}}</dd>{{/database}}
        {{#nextAttempt}}<dt>Next attempt</dt><dd>{{nextAttempt}}</dd>{{/nextAttempt}}
        </dl>
        {{#erasure}}
        <h2>Erasure</h2>
        <dl class="facts">
        <dt>Status</dt><dd>{{status}}</dd>
        <dt>SLA clock</dt><dd class="{{stageClass}}">{{stage}}: due {{due}}</dd>
        <dt>Attempts</dt><dd>{{attempts}}</dd>
        {{#lastError}}<dt>Last error</dt><dd class="bad">{{lastError}}</dd>{{/lastError}}
        </dl>
        {{#hasStores}}
        <div class="scroll"><table>
        <caption>Stores</caption>
        <thead><tr><th scope="col">Store</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Deleted</th><th scope="col" class="num">Attempts</th><th scope="col">Last error</th></tr></thead>
        <tbody>
        {{#stores}}<tr><th scope="row">{{store}}</th><td>{{type}}</td><td class="{{stateClass}}">{{state}}</td><td>{{deleted}}</td><td class="num">{{attempts}}</td><td>{{lastError}}</td></tr>
        {{/stores}}
        </tbody>
        </table></div>
        {{/hasStores}}
        {{/erasure}}
        {{#certificate}}
        <h2>Certificate</h2>
        <dl class="facts">
        <dt>SHA-256</dt><dd><code>{{sha256}}</code></dd>
        <dt>Signing key</dt><dd><code>{{keyFingerprint}}</code></dd>
        <dt>Issued</dt><dd>{{issuedAt}}</dd>
        <dt>Verify</dt><dd><code>{{verify}}</code></dd>
        </dl>
        {{/certificate}}
        {{#hasLive}}
        <div class="scroll"><table>
        <caption>Live state</caption>
        <thead><tr><th scope="col">Field</th><th scope="col">Value</th></tr></thead>
        <tbody>
        {{#live}}<tr><th scope="row">{{field}}</th><td><code>{{value}}</code></td></tr>
        {{/live}}
        </tbody>
        </table></div>
        {{/hasLive}}
        <div class="scroll"><table>
        <caption>History: its audit entries, newest first (its last plan is the newest change)</caption>
        <thead><tr><th scope="col" class="num">Seq</th><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Revision</th><th scope="col">Detail</th></tr></thead>
        <tbody>
        {{#audit}}<tr><td class="num">{{seq}}</td><td>{{at}}</td><td>{{action}}</td><td><code>{{revision}}</code></td><td><code>{{detail}}</code></td></tr>
        {{/audit}}
        {{^audit}}<tr><td colspan="5" class="muted">No audit entry.</td></tr>{{/audit}}
        </tbody>
        </table></div>
        {{> footer}}
        """

    static let erasures = """
        {{> header}}
        <div class="scroll"><table>
        <caption>{{openCount}} open erasures, by deadline (72 hours after the request)</caption>
        <thead><tr><th scope="col">Erasure</th><th scope="col">Requested</th><th scope="col">Due</th><th scope="col">SLA stage</th><th scope="col">Stores</th><th scope="col" class="num">Attempts</th></tr></thead>
        <tbody>
        {{#open}}<tr><th scope="row"><a href="{{path}}">{{id}}</a></th><td>{{requestedAt}}</td><td>{{due}}</td><td class="{{stageClass}}">{{stage}}</td><td>{{stores}}</td><td class="num">{{attempts}}</td></tr>
        {{/open}}
        {{^open}}<tr><td colspan="6" class="muted">No open erasure.</td></tr>{{/open}}
        </tbody>
        </table></div>
        <h2>Certified</h2>
        <div class="scroll"><table>
        <caption>The last certificates issued</caption>
        <thead><tr><th scope="col">Erasure</th><th scope="col">Issued</th><th scope="col">Certificate SHA-256</th></tr></thead>
        <tbody>
        {{#certified}}<tr><th scope="row"><a href="{{path}}">{{id}}</a></th><td>{{issuedAt}}</td><td><code>{{sha256}}</code></td></tr>
        {{/certified}}
        {{^certified}}<tr><td colspan="3" class="muted">No certificate yet.</td></tr>{{/certified}}
        </tbody>
        </table></div>
        {{> footer}}
        """

    static let models = """
        {{> header}}
        <div class="scroll"><table>
        <caption>Models with their production and shadow versions</caption>
        <thead><tr><th scope="col">Model</th><th scope="col">Production</th><th scope="col">Shadow</th><th scope="col">Versions</th></tr></thead>
        <tbody>
        {{#models}}<tr><th scope="row"><a href="/objects/Model/{{nameURL}}">{{name}}</a></th><td><code>{{production}}</code></td><td>{{#shadow}}<code>{{shadow}}</code> ({{shadowPercent}}% of traffic){{/shadow}}{{^shadow}}—{{/shadow}}</td><td>{{versions}}</td></tr>
        {{/models}}
        {{^models}}<tr><td colspan="4" class="muted">No model.</td></tr>{{/models}}
        </tbody>
        </table></div>
        <h2>Last promotions</h2>
        <div class="scroll"><table>
        <caption>Production versions moved or held, newest first</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Model</th><th scope="col">What</th><th scope="col">Revision</th></tr></thead>
        <tbody>
        {{#promotions}}<tr><td>{{at}}</td><td>{{object}}</td><td class="{{whatClass}}">{{what}}</td><td><code>{{revision}}</code></td></tr>
        {{/promotions}}
        {{^promotions}}<tr><td colspan="4" class="muted">No promotion recorded.</td></tr>{{/promotions}}
        </tbody>
        </table></div>
        {{> footer}}
        """

    static let history = """
        {{> header}}
        <div class="scroll"><table>
        <caption>Recorded passes, newest first, with the Merkle root of each revision's manifests</caption>
        <thead><tr><th scope="col" class="num">#</th><th scope="col">Started</th><th scope="col">Revision</th><th scope="col">Result</th><th scope="col" class="num">Objects</th><th scope="col">Changes</th><th scope="col">Signer</th><th scope="col">Merkle root</th></tr></thead>
        <tbody>
        {{#passes}}<tr><td class="num">{{id}}</td><td>{{startedAt}}</td><td><code>{{revision}}</code></td><td class="{{resultClass}}">{{result}}{{#reason}}: {{reason}}{{/reason}}</td><td class="num">{{objects}}</td><td>{{changes}}</td><td>{{signer}}</td><td><code>{{merkleRoot}}</code></td></tr>
        {{/passes}}
        {{^passes}}<tr><td colspan="8" class="muted">No pass recorded yet.</td></tr>{{/passes}}
        </tbody>
        </table></div>
        {{> footer}}
        """

    static let problem = """
        {{> header}}
        <p class="bad">{{message}}</p>
        {{> footer}}
        """
}
