"""`ansible-galaxy collection build` ships the collection and nothing of its tooling."""

import subprocess
import tarfile
from pathlib import Path

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[2]
NEVER_SHIPPED = (".venv/", ".git/", "collections/", "tests/", "molecule/", "scripts/", ".ci/", "build/", "__pycache__")


def test_built_tarball_holds_the_collection_only(tmp_path: Path):
    subprocess.run(
        [tool("ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (tarball,) = tmp_path.glob("seaworthy-digitalocean-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    for required in ("MANIFEST.json", "FILES.json", "README.md", "meta/runtime.yml", "COPYING"):
        assert required in names
    leaked = [n for n in names if any(n.startswith(p) or f"/{p}" in f"/{n}/" for p in NEVER_SHIPPED)]
    assert not leaked, f"tooling or local state in the tarball: {leaked[:10]}"
