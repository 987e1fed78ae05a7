"""The docker backing's network services: one image, one container per service.

Spaces (moto's S3 server), DNS (unbound) and ACME (Pebble) each run as a
plain container (one program, no systemd) from `seaworthy/emulator-services`
(tests/images/services/Dockerfile: the droplet image plus Debian's
python3-moto, unbound and pebble). They sit on the instance's public network
at fixed addresses counted down from the top of its /20 (droplets are
numbered up from the bottom), so that the host and every droplet reach them
at the same address:

    .254  s3    Spaces: https://<ip> (and http://<ip>)
    .253  dns   the droplets' resolver
    .252  acme  Pebble: https://<ip>:14000/dir

The image is built on first use and cached: it carries the hash of its recipe
(`io.seaworthy.recipe`) and is rebuilt only when the recipe changes. It is
labelled `io.seaworthy.owner=emulator` but not with an instance, so closing an
emulator keeps it; `scripts/emulator-clean.sh --all` removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from .docker_common import OWNER_LABEL, Docker, DockerError

IMAGE = "seaworthy/emulator-services:debian-13"
BASE_IMAGE = "seaworthy/droplet:debian-13"
RECIPE = Path(__file__).resolve().parents[2] / "images" / "services"
RECIPE_LABEL = "io.seaworthy.recipe"
CACHE_LABEL = "io.seaworthy.cache"  # "keep": scripts/emulator-clean.sh leaves it unless --all
SERVICE_LABEL = "io.seaworthy.service"
BUILD_LOCK = Path("/tmp/seaworthy-emulator-services.lock")
OFFSETS = {"s3": 1, "dns": 2, "acme": 3}  # counted down from the subnet's broadcast address


def recipe_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in RECIPE.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(RECIPE)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def ensure_image(docker: Docker) -> str:
    """The services image, built when missing or when its recipe changed (once, across processes)."""
    wanted = recipe_hash()

    def current() -> str:
        return docker.run(
            "image", "inspect", "-f", f'{{{{index .Config.Labels "{RECIPE_LABEL}"}}}}', IMAGE, check=False
        )

    if current() == wanted:
        return IMAGE
    with BUILD_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another emulator may be building it right now
        if current() == wanted:
            return IMAGE
        if not docker.run("image", "inspect", "-f", "{{.Id}}", BASE_IMAGE, check=False):
            raise DockerError(f"{BASE_IMAGE} is missing: build it with `make setup` (scripts/build-droplet-image.sh)")
        print(f"emulator: building {IMAGE} (recipe {wanted}, about 1.5 min, once)", file=sys.stderr, flush=True)
        started = time.monotonic()
        docker.run(
            "build",
            "-q",
            "--label",
            f"{OWNER_LABEL}=emulator",
            "--label",
            f"{RECIPE_LABEL}={wanted}",
            "--label",
            f"{CACHE_LABEL}=keep",
            "-t",
            IMAGE,
            str(RECIPE),
            timeout=1200,
        )
        print(f"emulator: built {IMAGE} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return IMAGE


def service_address(public: dict, service: str) -> str:
    return str(public["subnet"].broadcast_address - OFFSETS[service])


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size = len(data)
            info.mode = 0o600 if path.endswith(".key") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def start_service(
    docker: Docker, service: str, command: list[str], files: dict[str, bytes], env: dict[str, str] | None = None
) -> tuple[str, str]:
    """Create the service's container on the public network, copy `files` into it, start it: (name, address)."""
    public = docker.public_network()
    address = service_address(public, service)
    name = docker.name(service, "svc")
    env_args = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    docker.run(
        "create",
        "--name",
        name,
        "--hostname",
        service,
        *docker.label_args(**{SERVICE_LABEL: service}),
        "--network",
        public["name"],
        "--ip",
        address,
        "--memory",
        "512m",
        *env_args,
        IMAGE,
        *command,
    )
    docker.run("cp", "-", f"{name}:/", input=tar_of(files))
    docker.run("start", name)
    return name, address


def wait_until(what: str, probe, container: str, docker: Docker, timeout: float = 30) -> None:
    """Poll `probe()` (truthy when ready); on timeout fail with the container's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if probe():
                return
        time.sleep(0.1)
    log = subprocess.run(["docker", "logs", "--tail", "30", container], capture_output=True, text=True, check=False)
    raise DockerError(f"{what} did not come up within {timeout:.0f} s; its log ends:\n{log.stdout}{log.stderr}")


def remove_service(docker: Docker, name: str | None) -> None:
    if name:
        docker.run("rm", "-f", "-v", name, check=False)


if (
    __name__ == "__main__"
):  # build ahead of time (CI, scripts/setup.sh): python -m tests.emulator.backends.docker_services
    print(ensure_image(Docker()), "is up to date", f"(recipe {recipe_hash()})")
