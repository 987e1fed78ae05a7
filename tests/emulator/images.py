"""Build the emulator's cached images when missing or stale, from the command line.

The emulator builds them lazily, on the first call that needs one. Molecule scenarios and
the backup tool's container test start the same containers without an emulator (moto S3,
Pebble, the managed-style database servers), so `make setup` builds them first:

    python -m tests.emulator.images services postgres mariadb

Each build is the emulator's own (same recipe hash, labels and cross-process lock), so
setups and emulators starting side by side build an image once.
"""

from __future__ import annotations

import argparse
import sys

from .backends.docker_common import Docker, DockerError
from .backends.docker_databases import MARIADB, POSTGRES, DockerDatabases
from .backends.docker_services import ensure_image

NAMES = ("services", "postgres", "mariadb")


def ensure(names: list[str]) -> list[str]:
    docker = Docker("images")
    databases = DockerDatabases(docker, compute=None, store=None)
    images = []
    for name in names:
        if name == "services":
            images.append(ensure_image(docker))
        else:
            flavour = POSTGRES if name == "postgres" else MARIADB
            databases.ensure_image(flavour)
            images.append(flavour.image)
    return images


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", choices=NAMES, help="the images to ensure")
    args = parser.parse_args(argv)
    try:
        for image in ensure(args.names):
            print(image)
    except DockerError as exc:
        print(f"images: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
