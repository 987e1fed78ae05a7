"""Time from `POST /v2/droplets` to SSH-ready, for 1 and for 5 droplets (issue 4).

    .venv/bin/python -m tests.benchmarks.droplet_boot_bench

Runs the emulator with real backing (EMULATOR_BACKING=docker): each droplet is a
systemd container booted by cloud-init; "SSH-ready" means `ssh root@<public ip> true`
succeeds with the key given at creation. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import pydo

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator

SIZE = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}


def ssh_ready(key: Path, ip: str) -> bool:
    options = [
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=2",
        "-o",
        "BatchMode=yes",
    ]
    return (
        subprocess.run(
            ["ssh", "-i", str(key), *options, f"root@{ip}", "true"], capture_output=True, check=False
        ).returncode
        == 0
    )


def boot(client, key_id: int, key: Path, names: list[str]) -> tuple[float, float]:
    """Seconds to `active` (the API) and to SSH-ready (all droplets)."""
    started = time.perf_counter()
    body = {"names": names} if len(names) > 1 else {"name": names[0]}
    created = client.droplets.create({**body, "ssh_keys": [key_id], **SIZE})
    ids = [d["id"] for d in created.get("droplets") or [created["droplet"]]]
    active_at, pending = None, set(ids)
    ips: dict[int, str] = {}
    while pending:
        for droplet_id in list(pending):
            droplet = client.droplets.get(droplet_id)["droplet"]
            if droplet["status"] == "active":
                ips[droplet_id] = next(n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == "public")
                pending.discard(droplet_id)
        time.sleep(0.2)
    active_at = time.perf_counter() - started
    waiting = dict(ips)
    while waiting:
        for droplet_id, ip in list(waiting.items()):
            if ssh_ready(key, ip):
                del waiting[droplet_id]
    return active_at, time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        config = EmulatorConfig.from_env(
            port=0, backing="docker", data_dir=Path(tmp), rate_per_minute=None, rate_per_hour=None
        )
        with Emulator(config) as emulator:
            client = pydo.Client(token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle))
            key_id = client.ssh_keys.create({"name": "bench", "public_key": key.with_suffix(".pub").read_text()})[
                "ssh_key"
            ]["id"]
            for count in (1, 5):
                names = [f"bench-{count}-{i}" for i in range(1, count + 1)]
                active, ready = boot(client, key_id, key, names)
                print(f"{count} droplet(s): active after {active:5.1f} s, all SSH-ready after {ready:5.1f} s")


if __name__ == "__main__":
    main()
