"""What the host scenario's tests know about its machines.

The droplets are inspected through `docker exec` (root can no longer log in
over SSH, which is the point); everything about SSH itself is tried for real,
over the network, from the attacker container or from the controller.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shlex
from dataclasses import dataclass

import testinfra
import testinfra.utils.ansible_runner

from tests.support.molecule import container_host, tcp_probe

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCENARIO = os.environ["MOLECULE_SCENARIO_NAME"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
ATTACKER_KEY = "/root/.ssh/id_scenario"  # copied there by prepare.yml
SSH_OPTIONS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR"
DEPLOY_USER = "deploy"


@dataclass
class Droplet:
    name: str
    address: str
    port: int
    host: object  # testinfra host, root inside the container
    password: str | None
    docker: bool
    socket_activated: bool


def _droplet(name: str) -> Droplet:
    variables = RUNNER.get_variables(name)
    return Droplet(
        name=name,
        address=variables["ansible_host"],
        port=int(variables.get("harden_sshd_port", 22)),
        host=container_host(name),
        password=variables.get("scenario_deploy_password"),
        docker="docker_hosts" in variables.get("group_names", []),
        socket_activated=bool(variables.get("scenario_socket_activated", False)),
    )


DROPLETS = [_droplet(name) for name in RUNNER.get_hosts("droplets")]


class Attacker:
    """The client container: SSH attempts and TCP probes come from its addresses.

    Attempts that fail (and count for fail2ban) come from a fresh secondary
    address each time, so that no test, and no re-run of verify, inherits
    another's failures: only the brute-force test is meant to get banned.
    """

    def __init__(self):
        self.host = container_host("attacker")
        self.address = RUNNER.get_variables("attacker")["ansible_host"]
        self.extra_addresses: list[str] = []

    def run(self, command: str):
        return self.host.run(command)

    def fresh_address(self) -> str:
        interface = ipaddress.ip_interface(self.run("ip -o -4 addr show dev eth0").stdout.split()[3])
        taken = {self.address, *self.extra_addresses}
        while True:
            candidate = str(interface.network[1024 + secrets.randbelow(interface.network.num_addresses - 1026)])
            if candidate not in taken:
                break
        result = self.run(f"ip addr add {candidate}/{interface.network.prefixlen} dev eth0")
        assert result.rc == 0, result.stderr
        self.extra_addresses.append(candidate)
        return candidate

    def drop_fresh_addresses(self) -> None:
        prefix = ipaddress.ip_interface(self.run("ip -o -4 addr show dev eth0").stdout.split()[3]).network.prefixlen
        for address in self.extra_addresses:
            self.run(f"ip addr del {address}/{prefix} dev eth0")
        self.extra_addresses.clear()

    def ssh(
        self,
        droplet: Droplet,
        user: str,
        command: str = "id -un",
        *,
        password: str | None = None,
        source: str | None = None,
    ):
        """One SSH login attempt: with the scenario key, or (password=...) with a password only."""
        bind = f"-b {source} " if source else ""
        target = f"{bind}-p {droplet.port} {user}@{droplet.address} {shlex.quote(command)}"
        if password is None:
            return self.run(
                f"ssh {SSH_OPTIONS} -o BatchMode=yes -o IdentitiesOnly=yes -i {ATTACKER_KEY} "
                f"-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no {target}"
            )
        # `timeout`: an attempt caught mid-handshake by a ban would hang until LoginGraceTime.
        return self.run(
            f"timeout 10 sshpass -p {shlex.quote(password)} ssh {SSH_OPTIONS} -o PubkeyAuthentication=no "
            f"-o PreferredAuthentications=password,keyboard-interactive {target}"
        )

    def probe(self, address: str, port: int, timeout: float = 3.0, source: str | None = None) -> str:
        """'open', 'refused' or 'timeout' for a TCP connection from the attacker."""
        return tcp_probe(self.host, address, port, timeout, source)

    def http_get(self, address: str, port: int) -> str:
        script = f"import urllib.request\nprint(urllib.request.urlopen('http://{address}:{port}/', timeout=3).status)\n"
        return self.run(f"python3 -c {shlex.quote(script)}").stdout.strip()
