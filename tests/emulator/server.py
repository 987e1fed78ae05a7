"""Run the emulator: HTTPS on `port`, plain HTTP on `port + 1`, in background threads.

    with Emulator(EmulatorConfig.from_env()) as emu:
        client = pydo.Client(token=emu.token, endpoint=emu.url)  # trusts emu.ca_bundle

`Emulator` is what `make emulator` (python -m tests.emulator) and the pytest
fixture start; it also offers the admin API to tests as plain methods.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.request
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import EmulatorApp
from .config import EmulatorConfig
from .tls import ensure_tls
from .validation import SpecValidator


class _QuietHandler(WSGIRequestHandler):
    """Access logs belong in the request log, not on stderr."""

    # werkzeug answers every request with `Connection: close`, so each API call is
    # a new TLS handshake (the real API keeps connections alive): clients pay
    # ~5-35 ms per call here, mostly loading their CA bundle. Benchmarks that
    # compare clients run them against the same emulator, so the cost cancels out.
    protocol_version = "HTTP/1.1"

    def log_request(self, code="-", size="-"):
        return


class Emulator:
    def __init__(self, config: EmulatorConfig | None = None):
        self.config = config or EmulatorConfig.from_env()
        self.app: EmulatorApp | None = None
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []
        self.startup_seconds = 0.0

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> Emulator:
        started = time.perf_counter()
        cfg = self.config
        self.tls = ensure_tls(cfg.data_dir)
        validator = SpecValidator(cfg.spec_path) if cfg.validate else None
        self.app = EmulatorApp(cfg, validator)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls.server_cert, self.tls.server_key)
        https = make_server(
            cfg.host, cfg.port, self.app, threaded=True, ssl_context=context, request_handler=_QuietHandler
        )
        http_port = https.port + 1 if cfg.port else 0
        http = make_server(cfg.host, http_port, self.app, threaded=True, request_handler=_QuietHandler)
        self._servers = [https, http]
        self.app.base_urls = {"https": self.url, "http": self.http_url}
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.startup_seconds = time.perf_counter() - started
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        if self.app:
            self.app.backends.close()
            with self.app.store.lock:
                self.app.store.save()
        self._servers.clear()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- where it is -----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://{self.config.host}:{self._servers[0].port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.config.host}:{self._servers[1].port}"

    @property
    def token(self) -> str:
        return self.config.tokens[0]

    @property
    def ca_cert(self) -> Path:
        return self.tls.ca_cert

    @property
    def ca_bundle(self) -> Path:
        return self.tls.bundle

    def client_env(self) -> dict[str, str]:
        """Environment for clients (pydo, curl, ansible-playbook) to use this emulator as DigitalOcean."""
        bundle = str(self.ca_bundle)
        return {
            "DIGITALOCEAN_API_URL": self.url,
            "DIGITALOCEAN_TOKEN": self.token,
            "REQUESTS_CA_BUNDLE": bundle,
            "SSL_CERT_FILE": bundle,
            "CURL_CA_BUNDLE": bundle,
            **self.app.backends.client_env(),  # docker backing: DIGITALOCEAN_SPACES_ENDPOINT, SEAWORTHY_ACME_*, ...
        }

    @property
    def services(self) -> dict:
        """What the backing serves beside the API (docker: `spaces`, `dns`, `acme`); empty in memory."""
        return self.app.backends.services()

    # -- admin API, for tests ------------------------------------------------------
    def _admin(self, method: str, path: str, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.http_url}/_emulator/{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def requests(self, since: int = 0) -> list[dict]:
        return self._admin("GET", f"requests?since={since}")["requests"]

    def mark(self) -> int:
        """A position in the request log; `requests(since=mark)` returns what came after."""
        return self._admin("GET", "requests?since=999999999")["next"]

    def writes(self, since: int = 0) -> list[dict]:
        return [r for r in self.requests(since) if r["write"]]

    def inject(self, **rule) -> dict:
        return self._admin("POST", "faults", rule)["faults"][0]

    def clear_faults(self) -> None:
        self._admin("DELETE", "faults")

    def violations(self) -> list[dict]:
        return self._admin("GET", "violations")["violations"]

    def clear_violations(self) -> None:
        self._admin("DELETE", "violations")

    def state(self) -> dict:
        return self._admin("GET", "state")["data"]

    def reset(self) -> None:
        self._admin("POST", "reset")
