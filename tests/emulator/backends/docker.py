"""EMULATOR_BACKING=docker: what the API creates becomes real on this machine's Docker engine."""

from __future__ import annotations

import concurrent.futures
import hashlib

from ..tls import ensure_tls
from . import Backends
from .dns import MemoryDns
from .docker_acme import PebbleAcme
from .docker_common import Docker
from .docker_compute import DockerCompute, parse_image_map
from .docker_databases import DockerDatabases
from .docker_dns import DockerDns
from .docker_services import ensure_image, service_address
from .docker_storage import SPACES_DOMAIN, DockerStorage, spaces_records
from .storage import MemoryStorage


def make_docker_backends(config, store) -> Backends:
    docker = Docker()
    docker.run("info", "--format", "{{.ServerVersion}}")  # fail at start, clearly, when there is no engine
    compute = DockerCompute(docker, parse_image_map(config.image_map))
    backends = Backends(compute, DockerDatabases(docker, compute, store), MemoryStorage(), MemoryDns())
    backends.docker = docker
    # Default VPC ranges: skip what other emulators on this engine hold, start at an
    # offset of this instance's own (resources/_shared.py: _next_default_range).
    offset = int(hashlib.sha256(docker.instance.encode()).hexdigest(), 16) % 64
    store.vpc_range_hint = lambda: (offset, docker.taken_subnets())
    try:
        _start_services(config, store, docker, backends)
        backends.databases.dns = backends.dns  # database host names resolve (db.ondigitalocean.com)
    except BaseException:
        backends.close()  # nothing started so far outlives the failed start
        raise
    return backends


def _start_services(config, store, docker, backends) -> None:
    """Spaces (S3), DNS and ACME: containers on the public network (docker_services.py), started side by side."""
    ensure_image(docker)
    tls = ensure_tls(config.data_dir)
    acme = PebbleAcme(docker, tls, config.data_dir)
    backends.dns = dns = DockerDns(docker, acme)
    backends.storage = storage = DockerStorage(docker, tls)
    dns_address = service_address(docker.public_network(), "dns")
    with concurrent.futures.ThreadPoolExecutor(max_workers=3, thread_name_prefix="service") as pool:
        for step in ((dns.start, storage.start, lambda: acme.start(dns_address)), (dns.wait_ready, storage.wait_ready)):
            for future in [pool.submit(fn) for fn in step]:
                future.result()
    dns.serve_zone(SPACES_DOMAIN, spaces_records(storage.address))
    dns.load(store)
    acme.wait_ready()
    backends.compute.dns_servers = [dns.address]  # droplets resolve through it
