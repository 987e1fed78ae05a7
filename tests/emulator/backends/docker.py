"""EMULATOR_BACKING=docker: what the API creates becomes real on this machine's Docker engine."""

from __future__ import annotations

from . import Backends
from .databases import MemoryDatabases
from .dns import MemoryDns
from .docker_common import Docker
from .docker_compute import DockerCompute, parse_image_map
from .storage import MemoryStorage


def make_docker_backends(config, store) -> Backends:
    docker = Docker()
    docker.run("info", "--format", "{{.ServerVersion}}")  # fail at start, clearly, when there is no engine
    compute = DockerCompute(docker, parse_image_map(config.image_map))
    backends = Backends(compute, MemoryDatabases(), MemoryStorage(), MemoryDns())
    backends.docker = docker
    return backends
