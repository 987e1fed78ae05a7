#!/usr/bin/python3
"""The stack scenario's test application (not a product): one HTTP service and its migration.

    app serve     HTTP on $PORT (8000): GET / -> {"version", "host"}; GET /health; GET/POST /notes
    app migrate   create the schema; MIGRATION_FAIL=1 makes it fail (a broken release)

APP_VERSION is what it reports; APP_MODE=crash exits at start, APP_MODE=unhealthy serves
but never passes /health (two more broken releases). DATABASE_URL is libpq's URI.
"""

import json
import os
import signal
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

VERSION = os.environ.get("APP_VERSION", "0")
MODE = os.environ.get("APP_MODE", "")


def db():
    return psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=3)


def migrate() -> int:
    if os.environ.get("MIGRATION_FAIL"):
        print(f"migration for version {VERSION} failed: column notes.body cannot be dropped", file=sys.stderr)
        return 3
    with db() as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL, version text)")
    print(f"migrated to version {VERSION}")
    return 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-App-Version", VERSION)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            if MODE == "unhealthy":
                return self.reply(503, {"status": "broken", "version": VERSION})
            try:
                with db() as conn, conn.cursor() as cur:
                    cur.execute("SELECT 1")
            except psycopg2.Error as error:
                return self.reply(503, {"status": "no database", "error": str(error)})
            return self.reply(200, {"status": "ok", "version": VERSION})
        if self.path == "/notes":
            with db() as conn, conn.cursor() as cur:
                cur.execute("SELECT body FROM notes ORDER BY id")
                return self.reply(200, {"version": VERSION, "notes": [row[0] for row in cur.fetchall()]})
        return self.reply(200, {"version": VERSION, "host": socket.gethostname()})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() or "note"
        with db() as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO notes (body, version) VALUES (%s, %s)", (body, VERSION))
        return self.reply(201, {"version": VERSION, "stored": body})

    def log_message(self, *args):
        pass


def serve() -> int:
    if MODE == "crash":
        print(f"version {VERSION} crashed at start", file=sys.stderr)
        return 1
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)
    server.daemon_threads = True
    # SIGTERM: stop accepting, finish what is in flight, exit 0.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit({"serve": serve, "migrate": migrate}[sys.argv[1] if len(sys.argv) > 1 else "serve"]())
