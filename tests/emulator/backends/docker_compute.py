"""Droplets as real systemd hosts: containers from the local Debian 13 image.

- A droplet is a container run as tests/images/droplet-run.yml says (never
  --privileged), on the instance's public network (its public IPv4) and on a
  network per VPC whose subnet *is* the VPC's range (its private IPv4).
- cloud-init in the image reads a NoCloud seed written before first boot:
  hostname, the account's SSH keys for root, and `user_data`, so completion
  shows as /var/lib/cloud/instance/boot-finished, as on DigitalOcean.
- The droplet is `active` once its sshd answers on the public address.
- Power actions stop/start the container, resize changes its memory/CPU
  limits, snapshots are `docker commit`s the emulator can boot from, delete
  removes the container and its volumes.
- Cloud Firewalls are enforced in the droplet's network namespace, in the
  mangle table (the droplet's own UFW and Docker use filter/nat), for traffic
  arriving on its public and VPC interfaces: see `apply_firewall`.
- Image slugs other than the local Debian 13 image are refused (422) unless
  EMULATOR_IMAGE_MAP maps them onto it, which the emulator then says.
"""

from __future__ import annotations

import concurrent.futures
import io
import ipaddress
import itertools
import socket
import subprocess
import sys
import tarfile
import threading

import yaml

from .compute import ComputeBackend
from .docker_common import Docker, DockerError

LOCAL_IMAGES = {"debian-13-x64": "seaworthy/droplet:debian-13"}
FIREWALL_CHAIN = "SEAWORTHY-CLOUD-FW"


def _seed_tar(droplet: dict, user_data: str | None, keys: list[str]) -> bytes:
    meta = {"instance-id": f"droplet-{droplet['id']}", "local-hostname": droplet["name"], "public-keys": keys}
    files = {
        "var/lib/cloud/seed/nocloud/meta-data": yaml.safe_dump(meta),
        "var/lib/cloud/seed/nocloud/user-data": user_data or "#cloud-config\n{}\n",
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def parse_image_map(text: str | None) -> dict[str, str]:
    """EMULATOR_IMAGE_MAP="ubuntu-24-04-x64=debian-13-x64,ubuntu-22-04-x64=debian-13-x64"."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in (text or "").split(","))):
        slug, _eq, target = pair.partition("=")
        if target not in LOCAL_IMAGES:
            raise ValueError(f"EMULATOR_IMAGE_MAP: {pair!r} must map onto one of {', '.join(LOCAL_IMAGES)}")
        mapping[slug] = target
    return mapping


class DockerCompute(ComputeBackend):
    def __init__(self, docker: Docker, image_map: dict[str, str] | None = None):
        self.docker = docker
        self.image_map = image_map or {}
        for slug, target in self.image_map.items():
            print(f"emulator: droplets created from {slug} run the local {target} image", file=sys.stderr)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="droplet")
        self._lock = threading.Lock()
        self._droplets: dict[int, dict] = {}  # id -> {container, public, private, vpc_net, future}
        self._public_hosts = None
        self._private_hosts: dict[str, itertools.islice] = {}
        self._firewalls: dict[int, str] = {}  # id -> the ruleset last applied
        self.dns_servers: list[str] = []  # the emulator's DNS (docker_dns.py), set by make_docker_backends

    # -- images ------------------------------------------------------------------------
    def docker_image(self, image: dict) -> str | None:
        if image.get("type") == "snapshot":
            return self.docker.name("snapshot", image["id"]).replace("seaworthy-emu-", "seaworthy-emu/", 1)
        slug = self.image_map.get(image.get("slug"), image.get("slug"))
        return LOCAL_IMAGES.get(slug)

    def image_error(self, image: dict) -> str | None:
        if self.docker_image(image):
            return None
        return (
            f"Image {image.get('slug') or image.get('id')} cannot run here: this emulator boots "
            f"{', '.join(LOCAL_IMAGES)} (and snapshots of its droplets). Set EMULATOR_IMAGE_MAP to map other slugs onto it."
        )

    # -- addresses -----------------------------------------------------------------------
    def _allocate(self, vpc: dict) -> tuple[dict, str, dict, str]:
        public = self.docker.public_network()
        vpc_net = self.docker.network(f"vpc-{vpc['id'][:8]}", vpc["ip_range"], internal=True)
        with self._lock:
            if self._public_hosts is None:
                self._public_hosts = itertools.islice(public["subnet"].hosts(), 1, None)  # .1 is the gateway
            public_ip = str(next(self._public_hosts))
            hosts = self._private_hosts.setdefault(vpc["id"], itertools.islice(vpc_net["subnet"].hosts(), 1, None))
            private_ip = str(next(hosts))
        return public, public_ip, vpc_net, private_ip

    def allocate_addresses(self, vpc: dict) -> tuple[dict, str, dict, str]:
        """(public network, public IP, VPC network, private IP) for another family's container
        (a managed database's server): taken from the droplets' pools, so addresses never collide."""
        return self._allocate(vpc)

    # -- lifecycle -------------------------------------------------------------------------
    def create(self, droplet, *, user_data, ssh_public_keys, vpc):
        image = self.docker_image(droplet["image"])
        public, public_ip, vpc_net, private_ip = self._allocate(vpc)
        container = self.docker.name("droplet", droplet["id"])
        record = {"container": container, "public": (public, public_ip), "private": (vpc_net, private_ip)}
        record["future"] = self.pool.submit(
            self._boot, droplet, image, container, record, _seed_tar(droplet, user_data, ssh_public_keys)
        )
        with self._lock:
            self._droplets[droplet["id"]] = record

    def _boot(self, droplet, image, container, record, seed):
        public, public_ip = record["public"]
        vpc_net, private_ip = record["private"]
        memory_mib = droplet["memory"]
        self.docker.run(
            "create",
            "--name",
            container,
            "--hostname",
            droplet["name"],
            *self.docker.label_args(**{"io.seaworthy.droplet": str(droplet["id"])}),
            *self.docker.droplet_run_args(),
            "-v",
            "/var/lib/docker",  # Docker inside the droplet runs on overlay2, not vfs
            "--memory",
            f"{memory_mib}m",
            "--memory-swap",
            f"{memory_mib * 2}m",
            "--cpus",
            str(droplet["vcpus"]),
            "--network",
            public["name"],
            "--ip",
            public_ip,
            *[arg for server in self.dns_servers for arg in ("--dns", server)],
            image,
        )
        self.docker.run("network", "connect", "--ip", private_ip, vpc_net["name"], container)
        self.docker.run("cp", "-", f"{container}:/", input=seed)
        self.docker.run("start", container)

    def poll_ready(self, droplet):
        record = self._droplets.get(droplet["id"])
        if record is None or not record["future"].done():
            return None
        error = record["future"].exception()
        if error is not None:
            print(f"emulator: droplet {droplet['id']} failed to boot: {error}", file=sys.stderr)
            return None
        public_ip = record["public"][1]
        try:
            with socket.create_connection((public_ip, 22), timeout=0.3) as conn:
                conn.settimeout(0.5)
                if not conn.recv(16).startswith(b"SSH-"):
                    return None
        except OSError:
            return None
        return self.networks(droplet["id"])

    def networks(self, droplet_id: int) -> dict:
        record = self._droplets[droplet_id]
        public, public_ip = record["public"]
        vpc_net, private_ip = record["private"]
        return {
            "v4": [
                {
                    "ip_address": public_ip,
                    "netmask": str(public["subnet"].netmask),
                    "gateway": public["gateway"],
                    "type": "public",
                },
                {
                    "ip_address": private_ip,
                    "netmask": str(vpc_net["subnet"].netmask),
                    "gateway": vpc_net["gateway"],
                    "type": "private",
                },
            ],
            "v6": record.get("v6", []),
        }

    def _container(self, droplet) -> str:
        record = self._droplets.get(droplet["id"])
        if record is None:
            raise DockerError(f"droplet {droplet['id']} has no container")
        record["future"].result()  # a droplet still being created is finished first
        return record["container"]

    def power(self, droplet, on):
        self.docker.run("start" if on else "stop", self._container(droplet))
        if on:
            self._firewalls.pop(droplet["id"], None)  # a new network namespace: apply again

    def reboot(self, droplet):
        self.docker.run("restart", self._container(droplet))
        self._firewalls.pop(droplet["id"], None)

    def resize(self, droplet, size):
        memory = size["memory"]
        self.docker.run(
            "update",
            "--memory",
            f"{memory}m",
            "--memory-swap",
            f"{memory * 2}m",
            "--cpus",
            str(size["vcpus"]),
            self._container(droplet),
        )

    def snapshot(self, droplet, image):
        target = self.docker_image(image)
        label_changes = [arg for key, value in self.docker.labels.items() for arg in ("-c", f"LABEL {key}={value}")]
        self.docker.run("commit", *label_changes, self._container(droplet), target)

    def rebuild(self, droplet, image):
        record = self._droplets[droplet["id"]]
        self.docker.run("rm", "-f", "-v", self._container(droplet))
        record["future"] = self.pool.submit(
            self._boot, droplet, self.docker_image(image), record["container"], record, _seed_tar(droplet, None, [])
        )
        self._firewalls.pop(droplet["id"], None)

    def enable_ipv6(self, droplet):
        # The engine here has no IPv6 networking: the address is reported, not routed.
        n = droplet["id"] & 0xFFFF
        self._droplets[droplet["id"]]["v6"] = [
            {"ip_address": f"2001:db8:5ea:{n:x}::1", "netmask": 64, "gateway": "2001:db8:5ea::1", "type": "public"}
        ]

    def delete(self, droplet):
        record = self._droplets.pop(droplet["id"], None)
        self._firewalls.pop(droplet["id"], None)
        if record is not None:
            record["future"].add_done_callback(
                lambda _f: self.docker.run("rm", "-f", "-v", record["container"], check=False)
            )

    # -- Cloud Firewalls -------------------------------------------------------------------------
    def after_write(self, store) -> None:
        self.sync_firewalls(store)

    def sync_firewalls(self, store) -> None:
        """Enforce every droplet's Cloud Firewalls as they stand in the store (after each write)."""
        droplets = {d["id"]: d for d in store.all("droplets")}
        firewalls = store.all("firewalls")
        for droplet_id, droplet in droplets.items():
            record = self._droplets.get(droplet_id)
            if record is None or not record["future"].done() or record["future"].exception():
                continue
            covering = [
                f
                for f in firewalls
                if droplet_id in (f.get("droplet_ids") or [])
                or set(f.get("tags") or []) & set(droplet.get("tags") or [])
            ]
            rules = [rule for f in covering for rule in f.get("inbound_rules") or []] if covering else None
            ruleset = self._ruleset(rules, droplets, store)
            if self._firewalls.get(droplet_id) != ruleset:
                try:
                    self.apply_firewall(record, ruleset)
                    self._firewalls[droplet_id] = ruleset
                except DockerError as exc:  # e.g. powered off: applied again on the next write
                    print(f"emulator: firewall for droplet {droplet_id} not applied: {exc}", file=sys.stderr)

    def _sources(self, sources: dict, droplets: dict, store) -> list[str]:
        addresses = list(sources.get("addresses") or [])
        ids = set(sources.get("droplet_ids") or [])
        tags = set(sources.get("tags") or [])
        for droplet_id, droplet in droplets.items():
            if droplet_id in ids or tags & set(droplet.get("tags") or []):
                record = self._droplets.get(droplet_id)
                if record:
                    addresses += [record["public"][1], record["private"][1]]
        for uid in sources.get("load_balancer_uids") or []:
            balancer = store.get("load_balancers", uid)
            if balancer and balancer.get("ip"):
                addresses.append(balancer["ip"])
        return [a for a in addresses if ":" not in a]  # IPv6 is not routed here

    def _ruleset(self, rules: list[dict] | None, droplets: dict, store) -> str:
        """iptables-restore input for the droplet's chain; "" when no firewall applies."""
        if rules is None:
            return ""
        lines = [f"-A {FIREWALL_CHAIN} -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN"]
        for rule in rules:
            protocol, ports = rule["protocol"], str(rule.get("ports") or "0")
            match = f"-p {protocol}"
            if protocol in ("tcp", "udp") and ports not in ("0", "all"):
                match += f" -m {protocol} --dport {ports.replace('-', ':')}"
            for source in self._sources(rule.get("sources") or {}, droplets, store):
                network = ipaddress.ip_network(source, strict=False)
                lines.append(f"-A {FIREWALL_CHAIN} {match} -s {network} -j RETURN")
        lines.append(f"-A {FIREWALL_CHAIN} -j DROP")
        return "\n".join(lines)

    def apply_firewall(self, record: dict, ruleset: str) -> None:
        pid = self.docker.pid(record["container"])
        if pid == 0:
            raise DockerError("the droplet is powered off")
        interfaces = self._external_interfaces(pid, record)
        table = ["*mangle", f":{FIREWALL_CHAIN} - [0:0]", f"-F {FIREWALL_CHAIN}"]
        if ruleset:
            table.append(ruleset)
        table.append("COMMIT\n")
        self._nsenter(pid, "iptables-restore", "--noflush", input="\n".join(table).encode())
        for interface in interfaces:
            jump = ["PREROUTING", "-i", interface, "-j", FIREWALL_CHAIN]
            present = self._nsenter(pid, "iptables", "-t", "mangle", "-C", *jump, check=False) is not None
            if ruleset and not present:
                self._nsenter(pid, "iptables", "-t", "mangle", "-I", *jump)
            elif not ruleset and present:
                self._nsenter(pid, "iptables", "-t", "mangle", "-D", *jump)

    def _external_interfaces(self, pid: int, record: dict) -> list[str]:
        """The droplet's interfaces on its public and VPC networks (not Docker's bridges inside it)."""
        wanted = {record["public"][1], record["private"][1]}
        output = self._nsenter(pid, "ip", "-o", "-4", "addr", "show") or ""
        return sorted({line.split()[1] for line in output.splitlines() if line.split()[3].split("/")[0] in wanted})

    @staticmethod
    def _nsenter(pid: int, *command: str, input: bytes | None = None, check: bool = True) -> str | None:
        proc = subprocess.run(
            ["nsenter", "-t", str(pid), "-n", *command], input=input, capture_output=True, check=False
        )
        if proc.returncode != 0:
            if check:
                raise DockerError(
                    f"{' '.join(command[:2])} in droplet netns: {proc.stderr.decode(errors='replace').strip()}"
                )
            return None
        return proc.stdout.decode()

    # -- teardown ----------------------------------------------------------------------------------
    def reset(self) -> None:
        self.close()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="droplet")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        containers = [r["container"] for r in self._droplets.values()]
        if containers:
            self.docker.run("rm", "-f", "-v", *containers, check=False)
        self._droplets.clear()
        self._firewalls.clear()
        self._public_hosts = None
        self._private_hosts.clear()
