#!/usr/bin/env python3
"""Reference eraser service for Accord's `http` Store type (SPEC section 8).

A small HTTP service over a SQLite database file, Python 3 standard library
only. The tests and the demo run it with hack/start-eraser; any service that
Accord cannot reach directly can implement the same contract.

    eraser-service.py serve --port PORT --db FILE --secret-file FILE [--host 127.0.0.1]
    eraser-service.py sign --secret-file FILE [MESSAGE]   # MESSAGE or stdin

The contract
============

Data. A *resource* is a SQLite table of the database with the columns

    tenant TEXT, subject TEXT, created_at TEXT, payload TEXT

`created_at` is an ISO 8601 UTC timestamp (`2026-11-18T09:00:00Z`; a
fraction of a second, `+00:00`, or no offset at all, taken as UTC, are
accepted too). A resource name is 1 to 128 characters without control
characters; names starting with `_accord` or `sqlite_` are not resources.

Signatures. Every request is signed with the shared secret, in the header

    X-Accord-Signature-256: sha256=<lowercase hex HMAC-SHA256>

computed over the raw request body for a POST, and over the request path as
sent on the request line, without any query string (e.g. `/erasures/r-1`),
for a GET. A missing or wrong signature is answered 401 with a JSON error,
and nothing is done. (Signatures are compared in constant time.)

Errors are JSON objects `{"error": "<message>"}`: 400 malformed body, 401
bad signature, 404 unknown path or id, 405 wrong method, 411 a POST without
Content-Length, 413 a body over 10 MiB, 500 an injected or internal failure.
Every response is JSON; HTTP/1.1 keep-alive is supported.

POST /erasures
    body {"tenant": str, "subject": str, "resources": [str, ...], "requestId": str}
    (tenant, subject and requestId non-empty; resources a non-empty list of
    names) -> 202 {"requestId": ..., "status": "accepted", "repeat": bool}.
    The job runs in a background thread: in every resource, it deletes the
    rows whose tenant and subject match. If a resource does not exist, the
    job fails, deleting nothing, with an error naming every missing one.
    A requestId already known is idempotent: 202 with "repeat": true and
    the same job, whose counts stay what they were (the body of the repeat
    is ignored). Only a job that failed runs again on a repeat, with its
    first body: its counts accumulate, so they always tell how many rows
    this request id deleted in all. Accord sends the same request id again
    after any failure.

GET /erasures/<requestId>
    -> 200 {"requestId": str, "status": "running" | "completed" | "failed",
            "counts": {resource: rows deleted},
            "remaining": {resource: rows left for the tenant and subject},
            "error": str | null}
    `counts` and `remaining` name the requested resources that exist;
    `remaining` is counted at the time of the GET. 404 for an unknown id.

POST /retention
    body {"tenant": str, "resource": str, "olderThan": "<ISO 8601 UTC>",
          "dryRun": bool, "requestId": str}
    -> 202 {"requestId": ..., "status": "accepted", "repeat": bool}.
    The job deletes (or, for a dry run, only counts) the tenant's rows of
    the resource whose created_at is before olderThan; rows whose
    created_at cannot be read as a timestamp are left alone. An unknown
    resource makes the job fail. Request ids are idempotent as for
    erasures (a separate namespace).

GET /retention/<requestId>
    -> 200 {"requestId": str, "status": "running" | "completed" | "failed",
            "counts": {resource: n}, "dryRun": bool, "error": str | null}
    n is the rows deleted, or those that would be for a dry run. 404 for an
    unknown id.

GET /health
    -> 200 {"status": "ok", "resources": [table names, sorted]}

Test hooks (signed like everything else):

POST /_seed
    body {"resource": str, "rows": [{"tenant": str, "subject": str,
          "created_at": str (optional, default now), "payload": str | any JSON
          (optional, default "")}]}
    Creates the resource's table if needed and inserts the rows
    -> 200 {"resource": ..., "inserted": n}. An empty `rows` just creates
    the table.

POST /_faults
    body {"failNext": n, "delaySeconds": x, "dropConnectionNext": n,
          "failNextRetention": n, "jobDelaySeconds": x}, every field optional
    and 0 when omitted (so `{}` clears every fault) -> 200 with the state.
    failNext: the next n POST /erasures are answered 500, doing nothing.
    failNextRetention: the same for POST /retention.
    delaySeconds: every request sleeps that long before anything else.
    dropConnectionNext: the next n requests get their connection closed
    without an answer (the request is read, nothing is done).
    jobDelaySeconds: every job sleeps that long (in its thread) before it
    completes, so that "running" can be observed.
    resource: when given, the faults apply only to requests about that
    resource (an erasure or retention request naming it, the status of a
    job naming it), so tests that share one service can fault it for their
    own resource only; /health and the hooks are then never faulted.
    POST /_faults itself is never delayed, dropped or failed.

Jobs live in the table `_accord_jobs` of the same database, so they outlive
a restart of the service; a job that was running when the service stopped
is marked failed at the next start (and so runs again on a repeat).

The service logs one line per request to stderr (method, path, status,
duration), never a body nor the secret. SIGTERM or SIGINT stops it.
"""

import argparse
import datetime
import hashlib
import hmac
import json
import re
import signal
import socket
import sqlite3
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNATURE_HEADER = "X-Accord-Signature-256"
MAX_BODY = 10 * 1024 * 1024
ROW_COLUMNS = ("tenant", "subject", "created_at", "payload")
DELETE_BATCH = 500
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def log(message):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sys.stderr.write("%s eraser-service: %s\n" % (stamp[:-4] + "Z", message))
    sys.stderr.flush()


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text):
    """Seconds since the epoch of an ISO 8601 timestamp (UTC when no offset), or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Python before 3.11 wants exactly 0, 3 or 6 fraction digits.
    match = re.match(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$", value)
    if match:
        value = "%s.%s%s" % (match.group(1), (match.group(2) + "000000")[:6], match.group(3))
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def sign(secret, message):
    return "sha256=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def quote_identifier(name):
    return '"' + name.replace('"', '""') + '"'


def valid_resource_name(name):
    return (
        isinstance(name, str)
        and 0 < len(name) <= 128
        and not CONTROL.search(name)
        and not name.startswith("_accord")
        and not name.lower().startswith("sqlite_")
    )


def non_empty_string(value, limit=1024):
    return isinstance(value, str) and 0 < len(value) <= limit and not CONTROL.search(value)


class BadRequest(Exception):
    pass


class Store:
    """The SQLite database: resources, and the jobs in `_accord_jobs`.

    One connection, used under a lock by the request and job threads.
    """

    def __init__(self, path):
        self.lock = threading.RLock()
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.create_function("accord_ts", 1, parse_timestamp, deterministic=True)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS _accord_jobs ("
            " kind TEXT NOT NULL, request_id TEXT NOT NULL, request TEXT NOT NULL,"
            " status TEXT NOT NULL, counts TEXT NOT NULL, error TEXT,"
            " created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
            " PRIMARY KEY (kind, request_id))"
        )
        interrupted = self.db.execute(
            "UPDATE _accord_jobs SET status = 'failed', error = 'interrupted by a restart of the service',"
            " updated_at = ? WHERE status = 'running'",
            (now_iso(),),
        ).rowcount
        if interrupted:
            log("marked %d interrupted job(s) failed" % interrupted)

    def resources(self):
        with self.lock:
            rows = self.db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE '\\_accord%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                " ORDER BY name"
            ).fetchall()
        return [name for (name,) in rows]

    def exists(self, resource):
        if not valid_resource_name(resource):
            return False
        with self.lock:
            row = self.db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (resource,)
            ).fetchone()
        return row is not None

    def seed(self, resource, rows):
        table = quote_identifier(resource)
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute(
                    "CREATE TABLE IF NOT EXISTS %s (tenant TEXT, subject TEXT, created_at TEXT, payload TEXT)" % table
                )
                self.db.executemany("INSERT INTO %s (tenant, subject, created_at, payload) VALUES (?, ?, ?, ?)" % table, rows)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def remaining(self, resource, tenant, subject):
        with self.lock:
            (count,) = self.db.execute(
                "SELECT count(*) FROM %s WHERE tenant = ? AND subject = ?" % quote_identifier(resource),
                (tenant, subject),
            ).fetchone()
        return count

    def delete_batch(self, resource, where, params):
        """Deletes up to DELETE_BATCH matching rows; returns how many."""
        table = quote_identifier(resource)
        with self.lock:
            return self.db.execute(
                "DELETE FROM %s WHERE rowid IN (SELECT rowid FROM %s WHERE %s LIMIT %d)"
                % (table, table, where, DELETE_BATCH),
                params,
            ).rowcount

    def count_where(self, resource, where, params):
        with self.lock:
            (count,) = self.db.execute(
                "SELECT count(*) FROM %s WHERE %s" % (quote_identifier(resource), where), params
            ).fetchone()
        return count

    # --- jobs ---

    def job(self, kind, request_id):
        with self.lock:
            row = self.db.execute(
                "SELECT request, status, counts, error FROM _accord_jobs WHERE kind = ? AND request_id = ?",
                (kind, request_id),
            ).fetchone()
        if row is None:
            return None
        request, status, counts, error = row
        return {"request": json.loads(request), "status": status, "counts": json.loads(counts), "error": error}

    def claim(self, kind, request_id, request):
        """Creates the job, or restarts it if it failed. Returns (job, start, repeat)."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                existing = self.job(kind, request_id)
                stamp = now_iso()
                if existing is None:
                    self.db.execute(
                        "INSERT INTO _accord_jobs (kind, request_id, request, status, counts, error, created_at, updated_at)"
                        " VALUES (?, ?, ?, 'running', '{}', NULL, ?, ?)",
                        (kind, request_id, json.dumps(request, sort_keys=True), stamp, stamp),
                    )
                    result = ({"request": request, "status": "running", "counts": {}, "error": None}, True, False)
                elif existing["status"] == "failed":
                    self.db.execute(
                        "UPDATE _accord_jobs SET status = 'running', error = NULL, updated_at = ?"
                        " WHERE kind = ? AND request_id = ?",
                        (stamp, kind, request_id),
                    )
                    existing["status"], existing["error"] = "running", None
                    result = (existing, True, True)
                else:
                    result = (existing, False, True)
                self.db.execute("COMMIT")
                return result
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def update_job(self, kind, request_id, counts, status=None, error=None):
        with self.lock:
            if status is None:
                self.db.execute(
                    "UPDATE _accord_jobs SET counts = ?, updated_at = ? WHERE kind = ? AND request_id = ?",
                    (json.dumps(counts, sort_keys=True), now_iso(), kind, request_id),
                )
            else:
                self.db.execute(
                    "UPDATE _accord_jobs SET counts = ?, status = ?, error = ?, updated_at = ?"
                    " WHERE kind = ? AND request_id = ?",
                    (json.dumps(counts, sort_keys=True), status, error, now_iso(), kind, request_id),
                )


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.set({})

    def set(self, spec):
        values = {}
        scope = spec.get("resource")
        if scope is not None and (not isinstance(scope, str) or not scope):
            raise BadRequest("resource must be a non-empty string")
        values["resource"] = scope
        for key in ("failNext", "dropConnectionNext", "failNextRetention"):
            value = spec.get(key, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise BadRequest("%s must be a non-negative integer" % key)
            values[key] = value
        for key in ("delaySeconds", "jobDelaySeconds"):
            value = spec.get(key, 0)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 3600:
                raise BadRequest("%s must be a number of seconds from 0 to 3600" % key)
            values[key] = value
        unknown = sorted(set(spec) - set(values))
        if unknown:
            raise BadRequest("unknown fault field(s): %s" % ", ".join(unknown))
        with self.lock:
            self.values = values
            return dict(values)

    def get(self, key):
        with self.lock:
            return self.values[key]

    def applies(self, resources):
        """Whether the faults concern a request about `resources` (None: a
        request about no resource, such as /health)."""
        with self.lock:
            scope = self.values["resource"]
        return scope is None or (resources is not None and scope in resources)

    def take(self, key, resources=None):
        """Consumes one of the counted faults; True when it applies."""
        if not self.applies(resources):
            return False
        with self.lock:
            if self.values[key] > 0:
                self.values[key] -= 1
                return True
            return False


class Service:
    def __init__(self, store, secret):
        self.store = store
        self.secret = secret
        self.faults = Faults()

    def start_job(self, kind, request_id, request):
        job, start, repeat = self.store.claim(kind, request_id, request)
        if start:
            target = self.run_erasure if kind == "erasure" else self.run_retention
            thread = threading.Thread(
                target=self.run_job, args=(target, kind, request_id, job["request"], dict(job["counts"])), daemon=True
            )
            thread.start()
        return repeat

    def run_job(self, target, kind, request_id, request, counts):
        try:
            target(kind, request_id, request, counts)
            delay = self.faults.get("jobDelaySeconds")
            if delay:
                time.sleep(delay)
            self.store.update_job(kind, request_id, counts, "completed", None)
            log("%s job %s completed: %s" % (kind, request_id, json.dumps(counts, sort_keys=True)))
        except JobFailed as failure:
            self.store.update_job(kind, request_id, counts, "failed", str(failure))
            log("%s job %s failed: %s" % (kind, request_id, failure))
        except Exception as error:  # the job fails, the service goes on
            self.store.update_job(kind, request_id, counts, "failed", "internal error: %s" % error)
            log("%s job %s failed: internal error: %s" % (kind, request_id, error))

    def check_resources(self, resources):
        missing = [name for name in resources if not self.store.exists(name)]
        if missing:
            raise JobFailed("unknown resource%s: %s" % ("" if len(missing) == 1 else "s", ", ".join(missing)))

    def run_erasure(self, kind, request_id, request, counts):
        resources = request["resources"]
        for name in resources:
            if self.store.exists(name):
                counts.setdefault(name, 0)
        self.check_resources(resources)
        for name in resources:
            counts.setdefault(name, 0)
            while True:
                deleted = self.store.delete_batch(
                    name, "tenant = ? AND subject = ?", (request["tenant"], request["subject"])
                )
                if deleted == 0:
                    break
                counts[name] += deleted
                self.store.update_job(kind, request_id, counts)

    def run_retention(self, kind, request_id, request, counts):
        name = request["resource"]
        self.check_resources([name])
        counts.setdefault(name, 0)
        where = "tenant = ? AND accord_ts(created_at) < ?"
        params = (request["tenant"], parse_timestamp(request["olderThan"]))
        if request["dryRun"]:
            counts[name] = self.store.count_where(name, where, params)
            return
        while True:
            deleted = self.store.delete_batch(name, where, params)
            if deleted == 0:
                break
            counts[name] += deleted
            self.store.update_job(kind, request_id, counts)

    def erasure_view(self, request_id, job):
        request = job["request"]
        remaining = {}
        for name in request["resources"]:
            if self.store.exists(name):
                remaining[name] = self.store.remaining(name, request["tenant"], request["subject"])
        counts = {name: job["counts"].get(name, 0) for name in remaining}
        return {
            "requestId": request_id,
            "status": job["status"],
            "counts": counts,
            "remaining": remaining,
            "error": job["error"],
        }

    def retention_view(self, request_id, job):
        counts = dict(job["counts"])
        if self.store.exists(job["request"]["resource"]):
            counts.setdefault(job["request"]["resource"], 0)
        return {
            "requestId": request_id,
            "status": job["status"],
            "counts": counts,
            "dryRun": job["request"]["dryRun"],
            "error": job["error"],
        }


class JobFailed(Exception):
    pass


def parse_erasure(body):
    tenant, subject = body.get("tenant"), body.get("subject")
    resources, request_id = body.get("resources"), body.get("requestId")
    if not non_empty_string(tenant):
        raise BadRequest("tenant must be a non-empty string")
    if not non_empty_string(subject):
        raise BadRequest("subject must be a non-empty string")
    if not isinstance(resources, list) or not resources:
        raise BadRequest("resources must be a non-empty list of names")
    for name in resources:
        if not isinstance(name, str) or not 0 < len(name) <= 128 or CONTROL.search(name):
            raise BadRequest("every resource must be a name of 1 to 128 characters")
    if not non_empty_string(request_id, 256):
        raise BadRequest("requestId must be a non-empty string of at most 256 characters")
    # Each resource once, in the order given.
    unique = list(dict.fromkeys(resources))
    return request_id, {"tenant": tenant, "subject": subject, "resources": unique}


def parse_retention(body):
    tenant, resource = body.get("tenant"), body.get("resource")
    older_than, dry_run, request_id = body.get("olderThan"), body.get("dryRun"), body.get("requestId")
    if not non_empty_string(tenant):
        raise BadRequest("tenant must be a non-empty string")
    if not isinstance(resource, str) or not 0 < len(resource) <= 128 or CONTROL.search(resource):
        raise BadRequest("resource must be a name of 1 to 128 characters")
    if parse_timestamp(older_than) is None:
        raise BadRequest("olderThan must be an ISO 8601 timestamp")
    if not isinstance(dry_run, bool):
        raise BadRequest("dryRun must be true or false")
    if not non_empty_string(request_id, 256):
        raise BadRequest("requestId must be a non-empty string of at most 256 characters")
    return request_id, {"tenant": tenant, "resource": resource, "olderThan": older_than, "dryRun": dry_run}


def parse_seed(body):
    resource, rows = body.get("resource"), body.get("rows")
    if not valid_resource_name(resource):
        raise BadRequest("resource must be a name of 1 to 128 characters, not starting with _accord or sqlite_")
    if not isinstance(rows, list):
        raise BadRequest("rows must be a list")
    values = []
    for row in rows:
        if not isinstance(row, dict):
            raise BadRequest("every row must be an object")
        unknown = sorted(set(row) - set(ROW_COLUMNS))
        if unknown:
            raise BadRequest("unknown row field(s): %s" % ", ".join(unknown))
        if not isinstance(row.get("tenant"), str) or not isinstance(row.get("subject"), str):
            raise BadRequest("every row needs tenant and subject strings")
        created_at = row.get("created_at", now_iso())
        if not isinstance(created_at, str):
            raise BadRequest("created_at must be a string")
        payload = row.get("payload", "")
        if not isinstance(payload, str):
            payload = json.dumps(payload, sort_keys=True)
        values.append((row["tenant"], row["subject"], created_at, payload))
    return resource, values


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "accord-eraser-service"
    timeout = 120  # an idle keep-alive connection is closed after this
    sys_version = ""
    service = None  # set in main()

    # Our own one line per request, instead of http.server's.
    def log_request(self, code="-", size="-"):
        pass

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_HEAD(self):
        self.handle_request("HEAD")

    def do_PUT(self):
        self.handle_request("PUT")

    def do_DELETE(self):
        self.handle_request("DELETE")

    def do_PATCH(self):
        self.handle_request("PATCH")

    def handle_request(self, method):
        started = time.monotonic()
        path = self.path.split("?", 1)[0]
        status = "-"
        try:
            status = self.dispatch(method, path)
        except Exception as error:  # never take the server down
            log("internal error on %s %s: %r" % (method, path, error))
            status = self.reply(500, {"error": "internal error"})
        finally:
            log(
                "%s %s %s %s %dms"
                % (self.client_address[0], method, path, status, (time.monotonic() - started) * 1000)
            )

    def read_body(self):
        """The raw body, or None after answering an error."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            self.reply(411, {"error": "chunked bodies are not supported; send Content-Length"})
            return None
        length = self.headers.get("Content-Length")
        if length is None:
            if self.command == "POST":
                self.close_connection = True
                self.reply(411, {"error": "Content-Length required"})
                return None
            return b""
        try:
            size = int(length)
        except ValueError:
            size = -1
        if size < 0:
            self.close_connection = True
            self.reply(400, {"error": "bad Content-Length"})
            return None
        if size > MAX_BODY:
            self.close_connection = True
            self.reply(413, {"error": "body larger than %d bytes" % MAX_BODY})
            return None
        return self.rfile.read(size) if size else b""

    def dispatch(self, method, path):
        service = self.service
        body = self.read_body()
        if body is None:
            return self.last_status
        hooks = method == "POST" and path in ("/_faults", "/_seed")
        resources = None if hooks else self.resources_of(method, path, body)
        if not hooks and service.faults.applies(resources):
            delay = service.faults.get("delaySeconds")
            if delay:
                time.sleep(delay)
            if service.faults.take("dropConnectionNext", resources):
                self.close_connection = True
                try:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return "dropped"
        signed = body if method == "POST" else path.encode("utf-8")
        given = self.headers.get(SIGNATURE_HEADER, "").strip()
        expected = sign(service.secret, signed).encode("ascii")
        if not given or not hmac.compare_digest(expected, given.lower().encode("utf-8", "replace")):
            return self.reply(401, {"error": "missing or wrong %s signature" % SIGNATURE_HEADER})

        if method == "POST":
            routes = {
                "/erasures": self.post_erasure,
                "/retention": self.post_retention,
                "/_seed": self.post_seed,
                "/_faults": self.post_faults,
            }
            if path in routes:
                return routes[path](body)
        elif method == "GET":
            if path == "/health":
                return self.reply(200, {"status": "ok", "resources": service.store.resources()})
            for prefix, kind, view in (
                ("/erasures/", "erasure", service.erasure_view),
                ("/retention/", "retention", service.retention_view),
            ):
                if path.startswith(prefix) and len(path) > len(prefix):
                    request_id = urllib.parse.unquote(path[len(prefix):])
                    job = service.store.job(kind, request_id)
                    if job is None:
                        return self.reply(404, {"error": "unknown %s request id" % kind})
                    return self.reply(200, view(request_id, job))
        known = ("/erasures", "/retention", "/_seed", "/_faults", "/health")
        if path in known or path.startswith(("/erasures/", "/retention/")):
            return self.reply(405, {"error": "method %s not allowed on %s" % (method, path)})
        return self.reply(404, {"error": "no such path"})

    def resources_of(self, method, path, body):
        """The resources a request is about, when it names any."""
        try:
            if method == "POST" and path in ("/erasures", "/retention"):
                value = json.loads(body.decode("utf-8"))
                if isinstance(value, dict):
                    if isinstance(value.get("resources"), list):
                        return [r for r in value["resources"] if isinstance(r, str)]
                    if isinstance(value.get("resource"), str):
                        return [value["resource"]]
            for prefix, kind in (("/erasures/", "erasure"), ("/retention/", "retention")):
                if method == "GET" and path.startswith(prefix) and len(path) > len(prefix):
                    job = self.service.store.job(kind, urllib.parse.unquote(path[len(prefix):]))
                    if job is not None:
                        request = job["request"]
                        return list(request.get("resources") or [request.get("resource")])
        except (UnicodeDecodeError, ValueError, KeyError, TypeError):
            return None
        return None

    @staticmethod
    def json_object(body):
        try:
            value = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("body is not JSON")
        if not isinstance(value, dict):
            raise BadRequest("body is not a JSON object")
        return value

    def post_erasure(self, body):
        if self.service.faults.take("failNext", self.resources_of("POST", "/erasures", body)):
            return self.reply(500, {"error": "injected failure (failNext)"})
        try:
            request_id, request = parse_erasure(self.json_object(body))
        except BadRequest as error:
            return self.reply(400, {"error": str(error)})
        repeat = self.service.start_job("erasure", request_id, request)
        return self.reply(202, {"requestId": request_id, "status": "accepted", "repeat": repeat})

    def post_retention(self, body):
        if self.service.faults.take("failNextRetention", self.resources_of("POST", "/retention", body)):
            return self.reply(500, {"error": "injected failure (failNextRetention)"})
        try:
            request_id, request = parse_retention(self.json_object(body))
        except BadRequest as error:
            return self.reply(400, {"error": str(error)})
        repeat = self.service.start_job("retention", request_id, request)
        return self.reply(202, {"requestId": request_id, "status": "accepted", "repeat": repeat})

    def post_seed(self, body):
        try:
            resource, rows = parse_seed(self.json_object(body))
        except BadRequest as error:
            return self.reply(400, {"error": str(error)})
        self.service.store.seed(resource, rows)
        return self.reply(200, {"resource": resource, "inserted": len(rows)})

    def post_faults(self, body):
        try:
            state = self.service.faults.set(self.json_object(body))
        except BadRequest as error:
            return self.reply(400, {"error": str(error)})
        return self.reply(200, state)

    def reply(self, status, payload):
        data = (json.dumps(payload, sort_keys=True) + "\n").encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.last_status = status
        return status


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def read_secret(path):
    with open(path, "rb") as handle:
        secret = handle.read().strip()
    if not secret:
        raise SystemExit("eraser-service: %s is empty" % path)
    return secret


def serve(args):
    secret = read_secret(args.secret_file)
    store = Store(args.db)
    Handler.service = Service(store, secret)
    try:
        server = Server((args.host, args.port), Handler)
    except OSError as error:
        log("cannot listen on %s:%d: %s" % (args.host, args.port, error.strerror or error))
        return 2

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log("listening on http://%s:%d (database %s)" % (args.host, server.server_address[1], args.db))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        log("stopped")
    return 0


def sign_command(args):
    secret = read_secret(args.secret_file)
    message = args.message.encode("utf-8") if args.message is not None else sys.stdin.buffer.read()
    print(sign(secret, message))
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description="Reference eraser service for Accord's http Store type.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the service")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--db", required=True, help="the SQLite database file")
    serve_parser.add_argument("--secret-file", required=True, help="a file holding the shared secret")
    sign_parser = commands.add_parser("sign", help="print the X-Accord-Signature-256 value of a message")
    sign_parser.add_argument("--secret-file", required=True)
    sign_parser.add_argument("message", nargs="?", help="the body or GET path to sign (default: stdin)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return sign_command(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
