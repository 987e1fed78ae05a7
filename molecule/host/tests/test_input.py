"""Bad input fails before anything changes, with a message that names the variable."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from scenario import INVENTORY

from tests.support.molecule import run_playbook, venv_tool

CONVERGE = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "converge.yml"


def converge_with(extra_vars: dict, limit: str) -> tuple[int, dict]:
    return run_playbook(CONVERGE, "--limit", limit, extra_vars=extra_vars, timeout=300)


@pytest.mark.parametrize(
    ("extra_vars", "named"),
    [
        ({"harden_deploy_authorized_keys": []}, "harden_deploy_authorized_keys is empty"),
        ({"harden_deploy_authorized_keys": ["/home/me/.ssh/id_ed25519"]}, "harden_deploy_authorized_keys[0]"),
        ({"harden_sshd_allow_users": ["alice"]}, "harden_sshd_allow_users"),
    ],
    ids=["no-keys", "key-is-a-path", "allowusers-without-deploy"],
)
def test_bad_input_fails_before_any_change(socket_droplet, extra_vars, named):
    rc, report = converge_with(extra_vars, socket_droplet.name)
    assert rc != 0
    stats = report["stats"][socket_droplet.name]
    assert stats["failures"] == 1
    assert stats["changed"] == 0
    failed = [
        item.get("msg", "")
        for play in report["plays"]
        for task in play["tasks"]
        for result in task["hosts"].values()
        if result.get("failed")
        for item in [result, *result.get("results", [])]
    ]
    assert any(named in msg for msg in failed), failed


def test_lockout_guard_keeps_root_in_when_the_deploy_user_cannot_log_in(attacker, tmp_path):
    """Harden a host (the attacker, still root-accessible) with a deploy key that is not Ansible's."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)  # noqa: S603, S607
    playbook = tmp_path / "guard.yml"
    playbook.write_text(
        json.dumps(
            [
                {
                    "name": "Harden with somebody else's key",
                    "hosts": "attacker",
                    "become": True,
                    "gather_facts": True,
                    "roles": [{"role": "seaworthy.digitalocean.harden"}],
                    "vars": {
                        "harden_deploy_authorized_keys": [(tmp_path / "other.pub").read_text().strip()],
                        # Only what the guard needs; the rest is tested on the droplets.
                        "harden_ufw_enabled": False,
                        "harden_fail2ban_enabled": False,
                        "harden_unattended_upgrades_enabled": False,
                        "harden_sysctl_enabled": False,
                        "harden_journald_enabled": False,
                        "harden_time_enabled": False,
                    },
                }
            ]
        )
    )
    run = subprocess.run(  # noqa: S603 - fixed argv
        [venv_tool("ansible-playbook"), "-i", INVENTORY, str(playbook)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode != 0
    assert "Not closing root's SSH login" in run.stdout + run.stderr, run.stderr[-3000:]
    assert not attacker.host.file("/etc/ssh/sshd_config.d/00-seaworthy.conf").exists
    # Root still gets in (with the key molecule authorized for it).
    key = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "id_ed25519"
    ssh = f"ssh -i {key} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    root = subprocess.run(  # noqa: S603 - fixed argv
        [*ssh.split(), f"root@{attacker.address}", "id", "-un"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert root.stdout.strip() == "root", root.stderr
