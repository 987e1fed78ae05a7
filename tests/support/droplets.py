"""Local "droplet" containers: the systemd hosts that stand in for DigitalOcean droplets.

How they are run lives in tests/images/droplet-run.yml (shared with molecule's
create playbook); this turns it into `docker run` arguments.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

RUN_SPEC = Path(__file__).resolve().parents[1] / "images" / "droplet-run.yml"
LABEL_OWNER = "io.seaworthy.owner"


def run_spec() -> dict:
    return yaml.safe_load(RUN_SPEC.read_text())


def docker_run_args(spec: dict | None = None) -> list[str]:
    """The `docker run` options that boot the image's systemd without --privileged."""
    spec = spec or run_spec()
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


@dataclass
class Droplet:
    name: str

    def exec(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "exec", self.name, *argv], capture_output=True, text=True, check=check)

    def wait_booted(self, timeout: float = 90.0) -> str:
        """Wait until systemd has finished booting; return its final state (running/degraded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.exec("systemctl", "is-system-running", "--wait", check=False).stdout.strip()
            if state and state not in ("initializing", "starting"):
                return state
            time.sleep(0.5)  # systemd's bus is not up yet
        raise TimeoutError(f"{self.name} did not finish booting within {timeout} s")

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", "-v", self.name], capture_output=True, check=False)


def start(owner: str, network: str | None = None, extra: list[str] | None = None) -> Droplet:
    """Boot one local droplet labelled with its owner (so a cleanup can find it)."""
    name = f"seaworthy-{owner}-{uuid.uuid4().hex[:8]}"
    cmd = ["docker", "run", "-d", "--name", name, "--hostname", name, "--label", f"{LABEL_OWNER}={owner}"]
    if network:
        cmd += ["--network", network]
    cmd += docker_run_args() + (extra or []) + [run_spec()["image"]]
    subprocess.run(cmd, capture_output=True, text=True, check=True)
    return Droplet(name)


def address(droplet: dict, kind: str = "public") -> str:
    """A droplet's IPv4 address of a kind ("public" or "private") from its API representation."""
    return next(n["ip_address"] for n in droplet["networks"]["v4"] if n["type"] == kind)


def ssh(key, ip: str, command: str, *, check: bool = True, timeout: float = 120, input: str | None = None):
    """Run a command as root on a droplet over real SSH (the key the emulator's cloud-init installed).

    With check, a non-zero exit fails with the command and everything it printed.
    """
    options = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    options += ["-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"]
    proc = subprocess.run(
        ["ssh", "-i", str(key), *options, f"root@{ip}", command],
        input=input,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"on {ip}: {command}\nexit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def ready_for_ssh(key, ip: str, timeout: float = 120) -> str:
    """Wait until root can log in and cloud-init has finished; return ip.

    sshd answers (the droplet is `active`) before cloud-init has installed the keys, and
    cloud-init's last stages may still restart sshd after the first login works: a command
    run then fails with ssh's exit 255. So wait for `cloud-init status --wait` as well, then
    log in once more.
    """
    deadline = time.monotonic() + timeout
    while ssh(key, ip, "cloud-init status --wait >/dev/null 2>&1; true", check=False, timeout=60).returncode != 0:
        assert time.monotonic() < deadline, f"no SSH login to {ip} after {timeout} s"
        time.sleep(1)
    while ssh(key, ip, "true", check=False, timeout=30).returncode != 0:
        assert time.monotonic() < deadline, f"SSH to {ip} stopped answering after cloud-init finished"
        time.sleep(1)
    return ip


def trust_emulator_ca(key, ip: str, ca_file) -> None:
    """Install the emulator's test CA in a droplet's trust store (Spaces' and Pebble's TLS come from it)."""
    target = "/usr/local/share/ca-certificates/seaworthy-emulator.crt"
    ssh(key, ip, f"cat > {target} && update-ca-certificates >/dev/null", input=Path(ca_file).read_text(), timeout=60)
