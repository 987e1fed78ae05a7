"""A real ACME server beside the DNS: Pebble (Let's Encrypt's test CA) in the `acme` container.

- Directory: `https://<acme address>:14000/dir`, served with a certificate
  from the emulator's test CA (clients trust it through the CA bundle, as they
  trust the API).
- Certificates it issues chain to Pebble's own root, which Pebble generates at
  every start: the emulator fetches it from the management port (`/roots/0`)
  into `<data dir>/acme-root.pem` (and the intermediate beside it). Trust that
  file to verify issued certificates; it is NOT the CA of Pebble's own TLS.
- Pebble validates challenges for real: it resolves names through the
  emulator's DNS (`-dnsserver`), connects to port 80 (http-01) or 443
  (tls-alpn-01) of the address found, and reads TXT records for dns-01.
- PEBBLE_VA_NOSLEEP=1 (no random validation delay), PEBBLE_VA_ALWAYS_VALID=0
  (challenges are really checked), PEBBLE_WFE_NONCEREJECT=0 (Pebble would
  otherwise refuse 5% of nonces on purpose; real CAs do not, and certbot's
  retry of them only slows tests down).
- retryAfter 0 for authorizations and orders: Pebble then sends no Retry-After
  header. With a positive value it sends, at random, seconds or an HTTP date;
  Debian's Caddy (2.6, acmez) accepts only seconds, fails the finalize on a date
  and retries a minute later (seen as ~60 s of every Caddy certificate wait).
  Real CAs finalize at once or send seconds.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

from ..tls import issue_certificate
from .docker_services import remove_service, service_address, start_service, wait_until

CONF = "/etc/seaworthy/pebble.json"


class PebbleAcme:
    def __init__(self, docker, tls_files, data_dir: Path):
        self.docker = docker
        self.tls_files = tls_files
        self.root_file = Path(data_dir) / "acme-root.pem"
        self.intermediate_file = Path(data_dir) / "acme-intermediate.pem"
        self.container: str | None = None
        self.address: str | None = None

    @property
    def directory(self) -> str:
        return f"https://{self.address}:14000/dir"

    @property
    def management(self) -> str:
        return f"https://{self.address}:15000"

    def start(self, dns_address: str) -> None:
        address = service_address(self.docker.public_network(), "acme")
        cert, key = issue_certificate(self.tls_files, "pebble", ["pebble", "localhost"], [address])
        config = {
            "pebble": {
                "listenAddress": "0.0.0.0:14000",
                "managementListenAddress": "0.0.0.0:15000",
                "certificate": "/etc/seaworthy/acme.pem",
                "privateKey": "/etc/seaworthy/acme.key",
                "httpPort": 80,
                "tlsPort": 443,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
                "retryAfter": {"authz": 0, "order": 0},
            }
        }
        self.container, self.address = start_service(
            self.docker,
            "acme",
            ["pebble", "-config", CONF, "-dnsserver", f"{dns_address}:53"],
            {CONF: json.dumps(config).encode(), "/etc/seaworthy/acme.pem": cert, "/etc/seaworthy/acme.key": key},
            env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_VA_ALWAYS_VALID": "0", "PEBBLE_WFE_NONCEREJECT": "0"},
        )

    def _get(self, url: str) -> bytes:
        context = ssl.create_default_context(cafile=str(self.tls_files.ca_cert))
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return response.read()

    def wait_ready(self) -> None:
        wait_until("Pebble (ACME)", lambda: json.loads(self._get(self.directory)), self.container, self.docker)
        self.root_file.write_bytes(self._get(f"{self.management}/roots/0"))
        self.intermediate_file.write_bytes(self._get(f"{self.management}/intermediates/0"))

    def close(self) -> None:
        remove_service(self.docker, self.container)
        self.container = None

    def services(self) -> dict:
        return {
            "acme": {
                "directory": self.directory,
                "root": str(self.root_file),
                "intermediate": str(self.intermediate_file),
                "management": self.management,
            }
        }

    def client_env(self) -> dict[str, str]:
        return {"SEAWORTHY_ACME_DIRECTORY": self.directory, "SEAWORTHY_ACME_ROOT": str(self.root_file)}
