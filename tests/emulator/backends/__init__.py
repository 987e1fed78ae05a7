"""What a resource *is*, behind the API: the emulator's backend interface.

The API layer (resources/) owns the DigitalOcean view of a resource -- its
JSON, status, actions. A backend makes the resource exist somewhere: in
memory (the default; addresses and credentials are invented, nothing runs), or
as real containers, database servers, an S3 server and DNS (EMULATOR_BACKING=docker,
issue 4). One backend object per family; all share the same store lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from .compute import ComputeBackend, MemoryCompute
from .databases import DatabaseBackend, MemoryDatabases
from .dns import DnsBackend, MemoryDns
from .storage import MemoryStorage, StorageBackend


@dataclass
class Backends:
    compute: ComputeBackend
    databases: DatabaseBackend
    storage: StorageBackend
    dns: DnsBackend
    docker: object = None  # the docker backing's Docker handle (labels, networks), when in use

    def reset(self) -> None:
        for backend in (self.compute, self.databases, self.storage, self.dns):
            backend.reset()

    def after_write(self, store) -> None:
        for backend in (self.compute, self.databases, self.storage, self.dns):
            backend.after_write(store)

    def services(self) -> dict:
        """What the backing serves beside the API (docker: Spaces, DNS, ACME), by name: for health and printing."""
        found: dict = {}
        for backend in (self.compute, self.databases, self.storage, self.dns):
            found.update(backend.services() if hasattr(backend, "services") else {})
        return found

    def client_env(self) -> dict[str, str]:
        """Environment variables pointing clients at those services (added to Emulator.client_env())."""
        env: dict[str, str] = {}
        for backend in (self.compute, self.databases, self.storage, self.dns):
            env.update(backend.client_env() if hasattr(backend, "client_env") else {})
        return env

    def close(self) -> None:
        for backend in (self.compute, self.databases, self.storage, self.dns):
            backend.close()
        if self.docker is not None:
            self.docker.remove_everything()


def make_backends(config, store) -> Backends:
    if config.backing == "memory":
        return Backends(MemoryCompute(), MemoryDatabases(), MemoryStorage(), MemoryDns())
    if config.backing == "docker":
        from .docker import make_docker_backends  # imports the docker layer only when asked for

        return make_docker_backends(config, store)
    raise ValueError(f"EMULATOR_BACKING must be 'memory' or 'docker', not {config.backing!r}")
