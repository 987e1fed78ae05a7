"""Issue 12: every inventory parses, its playbooks pass --syntax-check, and its stack
description renders through the wiring into role variables of the right shape."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[3]
INVENTORIES = sorted(p.name for p in (REPO / "inventories").iterdir() if (p / "group_vars").is_dir())
PLAYBOOKS = ["site.yml", "provision.yml", "configure.yml", "destroy.yml"]


def ansible(cmd: str, inventory: str, *args: str) -> subprocess.CompletedProcess:
    path = REPO / "inventories" / inventory
    vault = (
        ["--vault-password-file", str(path / ".vault-pass.example")] if (path / ".vault-pass.example").exists() else []
    )
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "SEAWORTHY_DEMO_IMAGE": "seaworthy/stack-test:render",
        "SEAWORTHY_DEMO_ARCHIVE": "/nonexistent/render.tar",
    }
    return subprocess.run(
        [tool(cmd), "-i", str(path), *vault, *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )


def test_every_seed_has_an_inventory():
    assert {"local", "freshtrack-pro", "malar-market-production", "malar-market-staging", "teliporter"} <= set(
        INVENTORIES
    )
    assert {"orbitflow-crm", "ma-electrical"} <= set(INVENTORIES)


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_inventory_lists(inventory):
    proc = ansible("ansible-inventory", inventory, "--list")
    assert proc.returncode == 0, proc.stderr
    hostvars = json.loads(proc.stdout)["_meta"]["hostvars"]["localhost"]
    assert {"site_project", "site_env", "site_droplet", "site_database", "site_proxy"} <= set(hostvars)


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(inventory, playbook):
    proc = ansible("ansible-playbook", inventory, "--syntax-check", str(REPO / "playbooks" / playbook))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_stack_description_renders(inventory, tmp_path):
    proc = ansible(
        "ansible-playbook",
        inventory,
        str(REPO / "tests/integration/playbooks/render-stack.yml"),
        "-e",
        json.dumps({"site_ssh": {"public_key": "ssh-ed25519 AAAAexample render"}}),
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr
