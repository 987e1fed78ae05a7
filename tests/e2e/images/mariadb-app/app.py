#!/usr/bin/python3
"""The e2e test's application on MySQL/MariaDB (not a product), like tests/images/stack-test's:

    app serve     HTTP on $PORT (8000): GET /health; GET .../notes -> the notes; any other
                  GET -> {"version", "host"}; POST (any path) stores its body as a note
    app migrate   create the schema

APP_VERSION is what it reports; DATABASE_URL is mysql://user:password@host:port/database.
"""

import json
import os
import signal
import socket
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pymysql

VERSION = os.environ.get("APP_VERSION", "0")


def db():
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return pymysql.connect(
        host=url.hostname,
        port=url.port or 3306,
        user=urllib.parse.unquote(url.username or ""),
        password=urllib.parse.unquote(url.password or ""),
        database=url.path.lstrip("/"),
        connect_timeout=3,
        autocommit=True,
    )


def migrate() -> int:
    with db() as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS notes (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT NOT NULL, version TEXT)"
        )
    print(f"migrated to version {VERSION}")
    return 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/health"):
            try:
                with db() as conn, conn.cursor() as cur:
                    cur.execute("SELECT 1")
            except pymysql.MySQLError as error:
                return self.reply(503, {"status": "no database", "error": str(error)})
            return self.reply(200, {"status": "ok", "version": VERSION})
        if self.path.endswith("/notes"):
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
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)  # noqa: S104 (in a container)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit({"serve": serve, "migrate": migrate}[sys.argv[1] if len(sys.argv) > 1 else "serve"]())
