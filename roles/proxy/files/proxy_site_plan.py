# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan of the proxy role: which names of each site are served over HTTPS now.

Run on the managed host by the role (ansible.builtin.script), with one JSON
argument holding the options below; prints one JSON object (the RETURN below,
plus failed, msg and warnings). Read-only: it looks at files and asks DNS, so
the role runs it in check mode too. Python 3 standard library only (it runs on
the host, outside Ansible's module wrapper: roles in a collection cannot ship
modules in library/, and plugins/modules/ holds the DigitalOcean modules).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import time
from urllib.parse import urlsplit

DOCUMENTATION = r"""
name: proxy_site_plan
short_description: Decide which names of each proxy site are served over HTTPS, and which certificates to request
description:
  - Private to the C(proxy) role. Reads only; safe in check mode.
  - Looks at the certificates the host already holds (certbot's lineage per site for nginx,
    Caddy's certificate storage per name for Caddy) and, for the names that have none yet,
    asks DNS whether they point at this host (every A and AAAA record must be one of its
    addresses), the way an ACME server will before it validates a challenge.
  - Names with a certificate, or whose DNS points here, are served over HTTPS; the others are
    served over plain HTTP with a warning, and no certificate is requested for them (or the
    module fails when O(require_dns=true)). A later run requests it once DNS has caught up.
options:
  server:
    description: The proxy in front of the sites.
    type: str
    choices: [caddy, nginx]
    required: true
  sites:
    description:
      - One entry per site, with C(name), C(tls) (V(acme), V(selfsigned), V(provided) or V(off)),
        C(names) (every host name of the site, canonical ones first) and C(rate_limited).
    type: list
    elements: dict
    required: true
  acme_server:
    description: The ACME directory URL certificates come from.
    type: str
    required: true
  letsencrypt_dir:
    description: Certbot's configuration directory (nginx).
    type: path
    default: /etc/letsencrypt
  caddy_storage:
    description: Caddy's data directory (Caddy).
    type: path
    default: /var/lib/caddy/.local/share/caddy
  dns_check:
    description: Check DNS before requesting a certificate. When false, every name is requested.
    type: bool
    default: true
  require_dns:
    description: Fail instead of warning when a name does not resolve to this host.
    type: bool
    default: false
  resolvers:
    description:
      - DNS servers to ask (V(192.0.2.53), V(192.0.2.53:5353), V([2001:db8::53]:53)).
        Empty asks the host's own resolvers (C(/etc/resolv.conf)).
    type: list
    elements: str
    default: []
  addresses:
    description: The addresses the names must resolve to. Empty means the host's global addresses (C(ip -j addr)).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for one DNS answer.
    type: float
    default: 3.0
"""

RETURN = r"""
sites:
  description: Per site name, what to serve and what to request.
  returned: always
  type: dict
  contains:
    names:
      description: Every host name of the site.
      type: list
    https_names:
      description: Names to serve over HTTPS once the run is over.
      type: list
    http_names:
      description: Names served over plain HTTP (O(sites[].tls=off), or DNS not pointing here yet).
      type: list
    covered:
      description: Names the certificates on the host already cover.
      type: list
    issue:
      description: A certificate has to be requested now (for RV(sites.https_names)).
      type: bool
    force:
      description: The existing certificate must be replaced (other ACME server, or expired).
      type: bool
    dns:
      description: Per name looked up, its addresses and whether they are this host's.
      type: dict
    files:
      description: Caddy only, per name, the certificate file Caddy stores once it holds one.
      type: dict
addresses:
  description: The addresses names had to resolve to.
  returned: always
  type: list
"""


RECORD_TYPES = {"A": 1, "AAAA": 28}


class DnsError(Exception):
    pass


def parse_server(spec):
    spec = spec.strip()
    if spec.startswith("["):
        host, _sep, rest = spec[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else 53
    if spec.count(":") == 1:
        host, port = spec.split(":")
        return host, int(port)
    return spec, 53


def system_resolvers():
    servers = []
    try:
        with open("/etc/resolv.conf") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) >= 2 and fields[0] == "nameserver":
                    servers.append(fields[1].split("%")[0])
    except OSError:
        pass
    return servers or ["127.0.0.1"]


def encode_query(name, rtype):
    ident = secrets.randbelow(0x10000)  # unpredictable, as DNS query ids should be
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)  # recursion desired
    labels = b"".join(bytes([len(part)]) + part.encode("idna") for part in name.rstrip(".").split(".") if part)
    return ident, header + labels + b"\x00" + struct.pack("!HH", rtype, 1)


def skip_name(data, offset):
    while True:
        length = data[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length


def decode_answer(data, ident, rtype):
    """Addresses of type rtype in a response (CNAME chains included by the resolver); NXDOMAIN is no address."""
    if len(data) < 12:
        raise DnsError("short DNS answer")
    got_id, flags, qdcount, ancount, _ns, _ar = struct.unpack("!HHHHHH", data[:12])
    if got_id != ident:
        raise DnsError("DNS answer for another query")
    rcode = flags & 0x000F
    if rcode == 3:
        return []
    if rcode != 0:
        raise DnsError(f"DNS server answered rcode {rcode}")
    offset = 12
    for _question in range(qdcount):
        offset = skip_name(data, offset) + 4
    found = []
    for _answer in range(ancount):
        offset = skip_name(data, offset)
        atype, _aclass, _ttl, rdlength = struct.unpack("!HHIH", data[offset : offset + 10])
        offset += 10
        rdata = data[offset : offset + rdlength]
        offset += rdlength
        if atype == rtype == 1 and rdlength == 4:
            found.append(socket.inet_ntop(socket.AF_INET, rdata))
        elif atype == rtype == 28 and rdlength == 16:
            found.append(socket.inet_ntop(socket.AF_INET6, rdata))
    return found


def ask(server, name, rtype, timeout):
    host, port = server
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    ident, query = encode_query(name, rtype)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(query, (host, port))
        deadline = time.monotonic() + timeout
        while True:
            data, _peer = sock.recvfrom(4096)
            if len(data) >= 2 and struct.unpack("!H", data[:2])[0] == ident:
                break
            if time.monotonic() > deadline:
                raise TimeoutError()
    if struct.unpack("!H", data[2:4])[0] & 0x0200:  # truncated: ask again over TCP
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack("!H", len(query)) + query)
            length = struct.unpack("!H", recv_exactly(sock, 2))[0]
            data = recv_exactly(sock, length)
    return decode_answer(data, ident, rtype)


def recv_exactly(sock, size):
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise DnsError("DNS server closed the connection")
        chunks += chunk
    return chunks


def resolve(name, servers, timeout):
    """Every A and AAAA address of name, asking the servers in turn until one answers."""
    addresses = []
    for rname, rtype in RECORD_TYPES.items():
        errors = []
        for server in servers:
            try:
                addresses += ask(server, name, rtype, timeout)
                break
            except (OSError, DnsError, struct.error, IndexError) as exc:
                errors.append(f"{server[0]}:{server[1]}: {exc or type(exc).__name__}")
        else:
            raise DnsError(f"no answer for {rname} {name} ({'; '.join(errors)})")
    return addresses


def host_addresses(module):
    rc, out, err = module.run_command(["ip", "-j", "addr", "show"])
    if rc != 0:
        module.fail_json(msg=f"cannot list the host's addresses (ip -j addr show): {err.strip()}")
    found = []
    for link in json.loads(out or "[]"):
        for info in link.get("addr_info", []):
            if info.get("scope") == "global":
                found.append(info["local"])
    return found


def normalise(address):
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address


def read_certificate(path):
    """Names (subjectAltName DNS/IP entries) and expiry of a PEM certificate, via the openssl CLI."""
    if not os.path.exists(path):
        return None
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, path from the role
            ["openssl", "x509", "-in", path, "-noout", "-checkend", "0", "-ext", "subjectAltName"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return None
    names = []
    for line in out.stdout.splitlines():
        for entry in line.split(","):
            kind, _sep, value = entry.strip().partition(":")
            if kind in ("DNS", "IP Address") and value:
                names.append(value.strip().lower())
    return {"names": names, "expired": "will expire" in out.stdout}


def renewal_server(path):
    try:
        with open(path) as handle:
            for line in handle:
                key, _sep, value = line.partition("=")
                if key.strip() == "server":
                    return value.strip()
    except OSError:
        return None
    return None


def caddy_issuer_key(acme_server):
    """The directory certmagic files an ACME CA's certificates under (its host and path, made safe)."""
    parts = urlsplit(acme_server)
    key = parts.netloc + ("-" + parts.path.strip("/") if parts.path.strip("/") else "")
    key = key.lower().replace(":", "-").replace("/", "-")
    return "".join(c for c in key if c.isalnum() or c in "._-@")


def plan_site(site, params, lookup):
    names = [n.lower() for n in site["names"]]
    result = {"tls": site["tls"], "names": names, "covered": [], "issue": False, "force": False, "dns": {}}
    if site["tls"] == "off":
        result.update(https_names=[], http_names=names)
        return result
    if site["tls"] != "acme":
        result.update(https_names=names, http_names=[], covered=names)
        return result

    stale = False
    if params["server"] == "nginx":
        live = os.path.join(params["letsencrypt_dir"], "live", site["name"], "cert.pem")
        certificate = read_certificate(live)
        server = renewal_server(os.path.join(params["letsencrypt_dir"], "renewal", site["name"] + ".conf"))
        held = certificate["names"] if certificate else []
        stale = bool(certificate) and (certificate["expired"] or (server or "") != params["acme_server"])
        result["certificate"] = {
            "names": held,
            "server": server,
            "expired": bool(certificate and certificate["expired"]),
        }
    else:
        storage = os.path.join(params["caddy_storage"], "certificates", caddy_issuer_key(params["acme_server"]))
        result["files"] = {n: os.path.join(storage, n, n + ".crt") for n in names}
        held = [n for n in names if os.path.exists(result["files"][n])]
    result["covered"] = [n for n in names if n in held]

    to_check = names if stale else [n for n in names if n not in held]
    for name in to_check:
        result["dns"][name] = lookup(name)
    ok = [n for n in to_check if result["dns"][n]["ok"]]

    if stale and len(ok) == len(names):
        target = names
        result["force"] = True
    elif stale:
        target = result["covered"]  # keep serving what is there; renewing needs every name
    else:
        target = [n for n in names if n in held or n in ok]
    result["https_names"] = target
    result["http_names"] = [n for n in names if n not in target]
    if params["server"] == "nginx":
        result["issue"] = bool(target) and (result["force"] or sorted(target) != sorted(set(held)))
    else:
        result["issue"] = any(n not in held for n in target)
    return result


class Runner:
    """What the plan needs of the host: run a command, report a failure, collect warnings."""

    def __init__(self, params):
        self.params = params
        self.warnings = []

    def run_command(self, argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - fixed argv
        except OSError as exc:
            return 127, "", str(exc)
        return done.returncode, done.stdout, done.stderr

    def warn(self, message):
        self.warnings.append(message)

    def fail_json(self, msg, **extra):
        print(json.dumps({"failed": True, "msg": msg, "warnings": self.warnings, **extra}))
        sys.exit(1)

    def exit_json(self, **result):
        print(json.dumps({"failed": False, "warnings": self.warnings, **result}))
        sys.exit(0)


DEFAULTS = {
    "letsencrypt_dir": "/etc/letsencrypt",
    "caddy_storage": "/var/lib/caddy/.local/share/caddy",
    "dns_check": True,
    "require_dns": False,
    "resolvers": [],
    "addresses": [],
    "timeout": 3.0,
}


def main():
    if len(sys.argv) != 2:
        print(json.dumps({"failed": True, "msg": "usage: proxy_site_plan.py JSON-ARGUMENTS"}))
        sys.exit(2)
    params = {**DEFAULTS, **json.loads(sys.argv[1])}
    module = Runner(params)
    for key in ("server", "sites", "acme_server"):
        if key not in params:
            module.fail_json(msg=f"missing argument: {key}")
    if params["server"] not in ("caddy", "nginx"):
        module.fail_json(msg=f"server must be caddy or nginx, not {params['server']}")
    addresses = [normalise(a) for a in (params["addresses"] or host_addresses(module))]
    servers = [parse_server(s) for s in (params["resolvers"] or system_resolvers())]

    def lookup(name):
        if not params["dns_check"]:
            return {"addresses": [], "ok": True, "reason": "DNS check disabled"}
        try:
            found = sorted({normalise(a) for a in resolve(name, servers, float(params["timeout"]))})
        except DnsError as exc:
            return {"addresses": [], "ok": False, "reason": str(exc)}
        if not found:
            return {"addresses": [], "ok": False, "reason": "has no A or AAAA record"}
        foreign = [a for a in found if a not in addresses]
        if foreign:
            return {"addresses": found, "ok": False, "reason": "resolves to " + ", ".join(foreign)}
        return {"addresses": found, "ok": True, "reason": ""}

    sites = {}
    problems = []
    for site in params["sites"]:
        plan = plan_site(site, params, lookup)
        sites[site["name"]] = plan
        pending = [f"{n} {plan['dns'][n]['reason']}" for n in plan["http_names"] if n in plan["dns"]]
        if pending:
            problems.append(
                f"site '{site['name']}': {'; '.join(pending)} (this host: {', '.join(addresses)}). "
                + (
                    "No certificate was requested for "
                    + ("these names; they are served over plain HTTP" if not plan["force"] else "the site")
                    + " until DNS points here: run the role again then."
                )
            )
        if params["server"] == "caddy" and site.get("rate_limited"):
            module.warn(
                f"site '{site['name']}': rate_limit is not applied: Caddy as packaged by the distribution "
                "has no rate-limiting module (use nginx for this site, or rate-limit in the application)."
            )
    if problems and params["require_dns"]:
        module.fail_json(msg="DNS does not point at this host (proxy_require_dns): " + " ".join(problems), sites=sites)
    for problem in problems:
        module.warn(problem)
    module.exit_json(changed=False, sites=sites, addresses=addresses)


if __name__ == "__main__":
    main()
