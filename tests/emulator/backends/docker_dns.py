"""DNS that resolves: unbound in the instance's `dns` container, serving the API's domains.

- Every domain made through `/v2/domains` is an authoritative zone of unbound
  (an `auth-zone` loaded from a zone file written from the domain's records),
  with DNS's full semantics: A, AAAA, CNAME (followed), MX, NS, SRV, TXT, CAA,
  wildcards, NXDOMAIN for names the zone lacks. A domain shadows the real one
  of the same name (example.com here is the test's, not IANA's).
- Every other name is forwarded to Docker's resolver (and so to the host's):
  droplets use this server as their resolver (`docker create --dns`) and can
  still reach deb.debian.org.
- Each change rewrites the zone files and reloads unbound (`unbound-control
  reload`, about 0.3 s with the `docker exec`); the cache is dropped with it,
  so the next query sees the change.
- The emulator's own zones sit beside them: digitaloceanspaces.test (Spaces,
  see docker_storage.py), not visible through the API.
- Pebble, the ACME server, uses this server to find what to validate
  (docker_acme.py); this backend starts and stops it.

Programmable DNS was asked of pebble-challtestsrv first; it answers only the
names it was given (no forwarding, no wildcards, no MX/SRV), so droplets could
not use it as their resolver. unbound is both a resolver and an authoritative
server, and Debian packages it.
"""

from __future__ import annotations

import secrets
import socket
import struct
import subprocess
import time

from .dns import DnsBackend
from .docker_services import remove_service, start_service, tar_of, wait_until

CONF = "/etc/seaworthy/unbound.conf"
ZONES_DIR = "/etc/seaworthy/zones"
ZONES_CONF = f"{ZONES_DIR}/zones.conf"
NAMESERVER = "ns1.digitalocean.com."
UNBOUND_CONF = f"""\
server:
  interface: 0.0.0.0
  access-control: 0.0.0.0/0 allow
  do-ip6: no
  do-not-query-localhost: no
  module-config: "iterator"
  username: ""
  chroot: ""
  directory: "/etc/seaworthy"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 1
  cache-max-negative-ttl: 5
  # test. is a default "static" (always NXDOMAIN) zone of unbound: tests make domains under it
  local-zone: "test." nodefault
remote-control:
  control-enable: yes
  control-interface: /run/unbound.ctl
forward-zone:
  name: "."
  forward-addr: 127.0.0.11  # Docker's resolver in this container, which asks the host's
include: "{ZONES_CONF}"
"""
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28, "SRV": 33, "CAA": 257}


# -- zone files --------------------------------------------------------------------------
def _txt(data: str) -> str:
    """A TXT value as quoted character-strings of at most 255 bytes each."""
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def _target(domain: str, data: str) -> str:
    return f"{domain}." if data == "@" else f"{data.rstrip('.')}."


def _rdata(domain: str, r: dict) -> str:
    rtype, data = r["type"], r["data"]
    if rtype in ("CNAME", "NS"):
        return _target(domain, data)
    if rtype == "MX":
        return f"{r['priority']} {_target(domain, data)}"
    if rtype == "SRV":
        return f"{r['priority']} {r['weight']} {r['port']} {_target(domain, data)}"
    if rtype == "TXT":
        return _txt(data)
    if rtype == "CAA":
        return f'{r["flags"]} {r["tag"]} "{data}"'
    return data


def zone_file(domain: str, records: list[dict], serial: int) -> str:
    """`records` (as the API shows them: names relative, `@` the apex) as a zone file."""
    lines = [
        f"$ORIGIN {domain}.",
        "$TTL 1800",
        f"@ 1800 IN SOA {NAMESERVER} hostmaster.{domain}. {serial} 10800 3600 604800 1800",
    ]
    for r in records:
        if r["type"] == "SOA":
            continue
        value = _rdata(domain, r)
        lines.append(f"{r['name']} {r.get('ttl') or 1800} IN {r['type']} {value}")
    if not any(r["type"] == "NS" and r["name"] == "@" for r in records):
        lines.append(f"@ 1800 IN NS {NAMESERVER}")
    return "\n".join(lines) + "\n"


def zones_conf(domains: list[str]) -> str:
    blocks = [
        f'auth-zone:\n  name: "{d}."\n  zonefile: "{ZONES_DIR}/{d}.zone"\n'
        "  for-downstream: no\n  for-upstream: yes\n  fallback-enabled: no\n"
        for d in domains
    ]
    return "".join(blocks) or "# no zones\n"


# -- a DNS client, for readiness and for tests -------------------------------------------------
def resolve(server: str, name: str, rtype: str = "A", timeout: float = 3.0) -> tuple[int, list[str]]:
    """Ask `server` (UDP, port 53) for `name`: (rcode, answers of type `rtype` as text); rcode 3 is NXDOMAIN."""
    qid = secrets.randbelow(65536)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    question = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", TYPES[rtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(question, (server, 53))
        data = sock.recv(4096)
    if struct.unpack(">H", data[:2])[0] != qid:
        raise OSError("DNS answer for another question")

    def skip(offset: int) -> int:
        while data[offset]:
            if data[offset] & 0xC0 == 0xC0:
                return offset + 2
            offset += data[offset] + 1
        return offset + 1

    count = struct.unpack(">H", data[6:8])[0]
    offset = skip(12) + 4
    answers = []
    for _ in range(count):
        offset = skip(offset)
        kind, _cls, _ttl, length = struct.unpack(">HHIH", data[offset : offset + 10])
        rdata = data[offset + 10 : offset + 10 + length]
        offset += 10 + length
        if kind != TYPES[rtype]:
            continue  # e.g. the CNAME in front of an A
        if kind == 1:
            answers.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif kind == 28:
            answers.append(socket.inet_ntop(socket.AF_INET6, rdata))
        elif kind == 16:
            parts, i = [], 0
            while i < len(rdata):
                parts.append(rdata[i + 1 : i + 1 + rdata[i]].decode())
                i += rdata[i] + 1
            answers.append("".join(parts))
        else:
            answers.append(rdata.hex())
    return data[3] & 0xF, answers


class DockerDns(DnsBackend):
    def __init__(self, docker, acme=None):
        self.docker = docker
        self.acme = acme  # docker_acme.PebbleAcme, started beside the DNS server
        self.zones: dict[str, list[dict]] = {}  # the API's domains
        self.system_zones: dict[str, list[dict]] = {}  # the emulator's own (digitaloceanspaces.test)
        self.container: str | None = None
        self.address: str | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self.container, self.address = start_service(
            self.docker,
            "dns",
            ["unbound", "-d", "-p", "-c", CONF],
            {CONF: UNBOUND_CONF.encode(), ZONES_CONF: zones_conf([]).encode()},
        )

    def wait_ready(self) -> None:
        wait_until("the DNS server", lambda: resolve(self.address, "test", "SOA", 0.5), self.container, self.docker)
        self._push()

    def load(self, store) -> None:
        """Serve the domains a state file brought back."""
        fields = ("type", "name", "data", "priority", "port", "ttl", "weight", "flags", "tag")
        for domain in store.all("domains"):
            records = [r for r in store.all("domain_records") if r.get("_domain") == domain["name"]]
            self.zones[domain["name"]] = [{k: r.get(k) for k in fields} for r in records]
        if self.zones:
            self._push()

    def _push(self) -> None:
        """Write every zone, reload unbound."""
        zones = {**self.system_zones, **self.zones}
        serial = int(time.time())
        files = {ZONES_CONF: zones_conf(sorted(zones)).encode()}
        for domain, records in zones.items():
            files[f"{ZONES_DIR}/{domain}.zone"] = zone_file(domain, records, serial).encode()
        script = f"rm -rf {ZONES_DIR} && tar -x -C / && unbound-control -c {CONF} reload >/dev/null"
        proc = subprocess.run(
            ["docker", "exec", "-i", self.container, "sh", "-c", script],
            input=tar_of(files),
            capture_output=True,
            check=False,
            timeout=60,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"DNS server: reloading zones failed: {proc.stderr.decode(errors='replace').strip()}")

    def serve_zone(self, domain: str, records: list[dict]) -> None:
        """A zone of the emulator's own (not an API domain), e.g. digitaloceanspaces.test."""
        self.system_zones[domain] = [dict(r) for r in records]
        self._push()

    # -- DnsBackend ----------------------------------------------------------------------------
    def sync_domain(self, domain, records):
        self.zones[domain] = [dict(r) for r in records]
        self._push()

    def remove_domain(self, domain):
        if self.zones.pop(domain, None) is not None:
            self._push()

    def reset(self):
        self.zones.clear()
        if self.container:
            self._push()

    def close(self):
        if self.acme:
            self.acme.close()
        remove_service(self.docker, self.container)
        self.container = None

    # -- what clients are told ---------------------------------------------------------------
    def services(self) -> dict:
        found = {"dns": {"server": self.address, "port": 53, "zones": sorted(self.zones)}}
        if self.acme:
            found.update(self.acme.services())
        return found

    def client_env(self) -> dict[str, str]:
        env = {"SEAWORTHY_DNS_SERVER": self.address}
        if self.acme:
            env.update(self.acme.client_env())
        return env
