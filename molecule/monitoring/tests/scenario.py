"""What the monitoring scenario's tests know about its machines.

The droplet is inspected through `docker exec`; scraping is tried for real,
over the VPC network, from the client container.
"""

from __future__ import annotations

import json
import os
import shlex
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import testinfra
import testinfra.utils.ansible_runner

from tests.support.molecule import container_host, tcp_probe

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCENARIO = os.environ["MOLECULE_SCENARIO_NAME"]
SCENARIO_DIRECTORY = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
VARIABLES = RUNNER.get_variables("droplet-1")
VPC_ADDRESSES: dict[str, str] = VARIABLES["scenario_vpc_addresses"]
VPC_PREFIX = int(VARIABLES["scenario_vpc_subnet"].split("/")[1])
TEXTFILE_DIRECTORY = "/var/lib/prometheus/node-exporter"
BACKUP_STATE_DIRECTORY = "/var/lib/seaworthy-backup"
EXPORTER_PORT = 9100
PROMETHEUS = "http://127.0.0.1:9090"


@dataclass
class Droplet:
    name: str
    public_address: str
    vpc_address: str
    host: object

    def prometheus(self, path: str, **params: str) -> dict:
        """GET a Prometheus API path on the droplet's loopback, as JSON."""
        url = f"{PROMETHEUS}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        script = f"import urllib.request\nprint(urllib.request.urlopen({url!r}, timeout=5).read().decode())\n"
        result = self.host.run(f"python3 -c {shlex.quote(script)}")
        assert result.rc == 0, result.stderr
        return json.loads(result.stdout)

    def record_backup(self, job: str, last_success: float | None = None, failed: bool = False) -> None:
        """Leave what seaworthy-backup leaves in its state directory, then export it now."""
        commands = [f"install -d -m 0750 {BACKUP_STATE_DIRECTORY}"]
        if last_success is not None:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last_success))
            commands.append(f"echo {stamp} > {BACKUP_STATE_DIRECTORY}/{job}.last_success")
        if failed:
            commands += ["sleep 1", f"echo test-invocation > {BACKUP_STATE_DIRECTORY}/{job}.reported"]
        else:
            commands.append(f"rm -f {BACKUP_STATE_DIRECTORY}/{job}.reported")
        commands.append("systemctl start seaworthy-backup-metrics.service")
        result = self.host.run(" && ".join(commands))
        assert result.rc == 0, result.stderr


def droplet_named(name: str) -> Droplet:
    return Droplet(
        name=name,
        public_address=RUNNER.get_variables(name)["ansible_host"],
        vpc_address=VPC_ADDRESSES[name],
        host=container_host(name),
    )


class Client:
    """The client container, on the public and the VPC network; scrapes from declared or fresh addresses."""

    def __init__(self):
        self.host = container_host("client")
        self.vpc_address = VPC_ADDRESSES["client"]
        self.extra_addresses: list[str] = []

    def run(self, command: str):
        return self.host.run(command)

    def vpc_interface(self) -> str:
        result = self.run(f"ip -o -4 addr show to {self.vpc_address}")
        return result.stdout.split()[1]

    def fresh_address(self) -> str:
        """A second address in the VPC subnet, never allowed by the firewall rule."""
        candidate = self.vpc_address.rsplit(".", 1)[0] + f".{200 + len(self.extra_addresses)}"
        result = self.run(f"ip addr add {candidate}/{VPC_PREFIX} dev {self.vpc_interface()}")
        assert result.rc == 0, result.stderr
        self.extra_addresses.append(candidate)
        return candidate

    def drop_fresh_addresses(self) -> None:
        for address in self.extra_addresses:
            self.run(f"ip addr del {address}/{VPC_PREFIX} dev {self.vpc_interface()}")
        self.extra_addresses.clear()

    def probe(self, address: str, port: int, timeout: float = 3.0, source: str | None = None) -> str:
        """'open', 'refused' or 'timeout' for a TCP connection from the client."""
        return tcp_probe(self.host, address, port, timeout, source)

    def scrape(self, address: str, port: int = EXPORTER_PORT) -> str:
        script = f"import urllib.request\nprint(urllib.request.urlopen('http://{address}:{port}/metrics', timeout=5).read().decode())\n"
        result = self.run(f"python3 -c {shlex.quote(script)}")
        assert result.rc == 0, result.stderr
        return result.stdout
