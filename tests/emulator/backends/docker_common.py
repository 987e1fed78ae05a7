"""What every docker-backed family shares: the Docker CLI, labels, networks, cleanup.

Everything an emulator instance starts carries the labels
`io.seaworthy.owner=emulator` and `io.seaworthy.emulator=<instance>`, so that
`close()` removes exactly its own containers, networks and images, and
`make emulator-clean` (scripts/emulator-clean.sh) removes every emulator's.

The Docker CLI is used rather than the SDK: what the emulator does is then
written as the same commands an operator would type, easy to read and to
reproduce by hand.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import threading
import uuid
from pathlib import Path

import yaml

OWNER_LABEL = "io.seaworthy.owner"
INSTANCE_LABEL = "io.seaworthy.emulator"
RUN_SPEC = Path(__file__).resolve().parents[2] / "images" / "droplet-run.yml"
# Public addresses come from the shared address space (RFC 6598): never a VPC's
# RFC 1918 range, never Docker's own default pools.
PUBLIC_POOL = ipaddress.ip_network("100.64.0.0/10")
PUBLIC_PREFIX = 20


class DockerError(RuntimeError):
    pass


class Docker:
    """One emulator instance's handle on the Docker engine."""

    def __init__(self, instance: str | None = None):
        self.instance = instance or uuid.uuid4().hex[:8]
        self.labels = {OWNER_LABEL: "emulator", INSTANCE_LABEL: self.instance}
        self._lock = threading.Lock()
        self._networks: dict[str, dict] = {}
        self.run_spec = yaml.safe_load(RUN_SPEC.read_text())

    # -- the CLI -----------------------------------------------------------------
    def run(self, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 300) -> str:
        proc = subprocess.run(["docker", *args], input=input, capture_output=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise DockerError(f"docker {' '.join(args[:3])}...: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout.decode(errors="replace").strip()

    def label_args(self, **extra: str) -> list[str]:
        args = []
        for key, value in {**self.labels, **extra}.items():
            args += ["--label", f"{key}={value}"]
        return args

    def name(self, kind: str, key) -> str:
        return f"seaworthy-emu-{self.instance}-{kind}-{key}"

    def droplet_run_args(self) -> list[str]:
        """`docker create` options that boot the droplet image's systemd (tests/images/droplet-run.yml)."""
        spec = self.run_spec
        args: list[str] = []
        for cap in spec["capabilities"]:
            args += ["--cap-add", cap]
        for opt in spec["security_opts"]:
            args += ["--security-opt", opt]
        for rule in spec["device_cgroup_rules"]:
            args += ["--device-cgroup-rule", rule]
        args += ["--cgroupns", spec["cgroupns_mode"], "--stop-signal", spec["stop_signal"]]
        for volume in spec["volumes"]:
            args += ["-v", volume]
        for path in spec["tmpfs"]:
            args += ["--tmpfs", path]
        return args

    def pid(self, container: str) -> int:
        return int(self.run("inspect", "-f", "{{.State.Pid}}", container))

    # -- networks ------------------------------------------------------------------
    def taken_subnets(self) -> list[ipaddress.IPv4Network]:
        ids = self.run("network", "ls", "-q").split()
        subnets = []
        if ids:
            for network in json.loads(self.run("network", "inspect", *ids)):
                for config in (network.get("IPAM") or {}).get("Config") or []:
                    if config.get("Subnet") and ":" not in config["Subnet"]:
                        subnets.append(ipaddress.ip_network(config["Subnet"]))
        return subnets

    def network(self, key: str, subnet: str, internal: bool) -> dict:
        """Create (once) a bridge network for `key` with exactly `subnet`; return {name, subnet, gateway}."""
        with self._lock:
            if key in self._networks:
                return self._networks[key]
            net = ipaddress.ip_network(subnet)
            name = self.name("net", key)
            gateway = str(next(net.hosts()))
            args = ["network", "create", "--driver", "bridge", "--subnet", str(net), "--gateway", gateway]
            if internal:
                args.append("--internal")
            try:
                self.run(*args, *self.label_args(), name)
            except DockerError as exc:
                raise DockerError(
                    f"cannot create network {name} for {subnet}: {exc} "
                    "(another emulator or test network may use an overlapping range; `make emulator-clean`)"
                ) from exc
            self._networks[key] = {"name": name, "subnet": net, "gateway": gateway}
            return self._networks[key]

    def public_network(self) -> dict:
        """The "internet" side of every droplet: a fresh /20 from 100.64.0.0/10 per instance."""
        with self._lock:
            if "public" in self._networks:
                return self._networks["public"]
            taken = self.taken_subnets()
        for candidate in PUBLIC_POOL.subnets(new_prefix=PUBLIC_PREFIX):
            if not any(candidate.overlaps(t) for t in taken):
                try:
                    return self.network("public", str(candidate), internal=False)
                except DockerError:
                    continue  # another emulator starting beside this one took it first
        raise DockerError("no free /20 left in 100.64.0.0/10 for the emulator's public network")

    # -- cleanup -------------------------------------------------------------------
    def remove_everything(self) -> None:
        """Remove this instance's containers (with their volumes), networks and images."""
        remove_labelled(f"{INSTANCE_LABEL}={self.instance}")
        with self._lock:
            self._networks.clear()


def remove_labelled(label: str) -> None:
    """Remove every container, network and image carrying `label` (key=value)."""

    def docker(*args: str) -> str:
        return subprocess.run(["docker", *args], capture_output=True, text=True, check=False).stdout.split()

    containers = docker("ps", "-aq", "--filter", f"label={label}")
    if containers:
        docker("rm", "-f", "-v", *containers)
    networks = docker("network", "ls", "-q", "--filter", f"label={label}")
    if networks:
        docker("network", "rm", *networks)
    images = docker("images", "-q", "--filter", f"label={label}")
    if images:
        docker("rmi", "-f", *sorted(set(images)))
    volumes = docker("volume", "ls", "-q", "--filter", f"label={label}")
    if volumes:
        docker("volume", "rm", "-f", *volumes)
