"""What the proxy scenario's tests know about its machines.

Every request comes from the client container (curl, trusting Pebble's root),
addressed by name with --resolve, as a browser on the internet would; the
droplets are inspected through `docker exec`.
"""

from __future__ import annotations

import json
import os
import shlex
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import testinfra
import testinfra.utils.ansible_runner

from tests.support.molecule import container_host, failure_messages, run_playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCENARIO = os.environ["MOLECULE_SCENARIO_NAME"]
CONVERGE = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"
STATE = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "pebble"
SERVICES = json.loads((STATE / "services.json").read_text())
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
PEBBLE_ROOT = "/root/pebble-root.pem"  # on the client (prepare.yml)
GRAFANA_PASSWORD = "test-only-grafana-password"  # noqa: S105 - test fixture, as in converge.yml


@dataclass
class Proxy:
    name: str
    server: str
    address: str
    suffix: str
    host: object

    def domain(self, prefix: str) -> str:
        return f"{prefix}.{self.suffix}"


def _proxy(name: str) -> Proxy:
    variables = RUNNER.get_variables(name)
    server = variables["proxy_server"]
    return Proxy(name, server, variables["ansible_host"], f"{server}.test", container_host(name))


PROXIES = [_proxy(name) for name in RUNNER.get_hosts("proxies")]
CLIENT = container_host("client")
CLIENT_ADDRESS = RUNNER.get_variables("client")["ansible_host"]


def curl(proxy: Proxy, url: str, *options: str):
    """curl on the client; every test name resolves to the proxy's address."""
    host = url.split("/")[2]
    resolve = [arg for port in (80, 443) for arg in ("--resolve", f"{host}:{port}:{proxy.address}")]
    argv = ["curl", "-sS", "--max-time", "10", "--cacert", PEBBLE_ROOT, *resolve, *options, url]
    return CLIENT.run(" ".join(shlex.quote(a) for a in argv))


def served_serial(proxy: Proxy, name: str) -> str:
    command = (
        f"echo | openssl s_client -connect {proxy.address}:443 -servername {name} 2>/dev/null"
        " | openssl x509 -noout -serial"
    )
    return CLIENT.run(command).stdout.strip()


def add_a_record(name: str, address: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - the scenario's own DNS server
        SERVICES["dns_management"] + "/add-a",
        data=json.dumps({"host": name + ".", "addresses": [address]}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def converge(extra_vars: dict | None = None, *options: str) -> tuple[int, dict]:
    """Run converge.yml again (JSON report); returns the exit code and the report."""
    return run_playbook(CONVERGE, *options, extra_vars=extra_vars)


def failures(report: dict, host: str) -> list[str]:
    """The messages of the tasks that failed on host."""
    return failure_messages(report, host)
