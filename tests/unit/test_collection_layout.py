"""The collection's metadata agrees with itself and with what the checkout holds."""

import json
import subprocess
from pathlib import Path

import ansible_collections  # the namespace package the `ansible` distribution installs
import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[2]
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
RUNTIME = yaml.safe_load((REPO / "meta/runtime.yml").read_text())
# The DigitalOcean modules; a module whose work is all in an action plugin of the same name
# (checks) runs on the controller and talks to no API, so it is not one of them.
MODULES = sorted(
    p.stem
    for p in (REPO / "plugins/modules").glob("*.py")
    if p.stem != "__init__" and not (REPO / "plugins/action" / p.name).exists()
)
ROLES = sorted(p.parent.parent.name for p in REPO.glob("roles/*/tasks/main.yml"))


def test_identity():
    assert (GALAXY["namespace"], GALAXY["name"]) == ("seaworthy", "digitalocean")


def test_all_action_group_lists_exactly_the_modules():
    group = RUNTIME["action_groups"]["all"]
    assert sorted(group) == MODULES, (
        "meta/runtime.yml action_groups.all must list every DigitalOcean module and nothing else"
    )


def test_requirements_yml_matches_galaxy_dependencies():
    declared = {c["name"]: c["version"] for c in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]}
    assert declared == GALAXY["dependencies"]


@pytest.mark.parametrize("collection", sorted(GALAXY["dependencies"]))
def test_pinned_ansible_package_satisfies_dependency(collection):
    """The `ansible` PyPI package is where a checkout gets its collections."""
    namespace, name = collection.split(".")
    manifest = next(
        Path(root) / namespace / name / "MANIFEST.json"
        for root in ansible_collections.__path__
        if (Path(root) / namespace / name / "MANIFEST.json").exists()
    )
    version = json.loads(manifest.read_text())["collection_info"]["version"]
    assert meets_requirements(version, GALAXY["dependencies"][collection]), (
        f"{collection} {version} from the ansible package is outside {GALAXY['dependencies'][collection]}"
    )


def test_checkout_resolves_as_the_collection():
    out = subprocess.run(
        [tool("ansible-galaxy"), "collection", "list", "seaworthy.digitalocean", "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {name: info for path in json.loads(out).values() for name, info in path.items()}
    assert found["seaworthy.digitalocean"]["version"] == GALAXY["version"]


@pytest.mark.parametrize("role", ROLES)
def test_role_has_argument_specs_and_readme(role):
    assert (REPO / "roles" / role / "meta" / "argument_specs.yml").is_file()
    assert (REPO / "roles" / role / "README.md").is_file()
