"""SSH from the outside: who gets in, how, and what sshd really applies."""

import json
import subprocess

import pytest
from scenario import DEPLOY_USER

from tests.support.molecule import venv_tool


def test_deploy_user_logs_in_with_its_key(droplet, attacker):
    result = attacker.ssh(droplet, DEPLOY_USER)
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == DEPLOY_USER


def test_root_is_refused_although_its_key_is_authorized(droplet, attacker):
    # create.yml authorized the scenario key for root, as DigitalOcean does.
    assert droplet.host.file("/root/.ssh/authorized_keys").size > 0
    result = attacker.ssh(droplet, "root", source=attacker.fresh_address())
    assert result.rc == 255
    assert "Permission denied" in result.stderr


def test_password_is_refused_even_when_right(docker_droplet, attacker):
    # prepare.yml left cloud-init's drop-in turning password logins on.
    cloud_init = docker_droplet.host.file("/etc/ssh/sshd_config.d/50-cloud-init.conf")
    assert cloud_init.contains("^PasswordAuthentication yes")
    assert docker_droplet.password, "the scenario gives droplet-1's deploy user a password"
    result = attacker.ssh(
        docker_droplet, DEPLOY_USER, password=docker_droplet.password, source=attacker.fresh_address()
    )
    assert result.rc != 0
    # The server does not even offer a password prompt.
    assert "Permission denied (publickey)" in result.stderr


def test_our_drop_in_sorts_before_cloud_init(droplet):
    dropins = droplet.host.run("ls /etc/ssh/sshd_config.d").stdout.split()
    assert dropins[0] == "00-seaworthy.conf", dropins
    include = droplet.host.run("grep -n -m1 -E '^[^#]' /etc/ssh/sshd_config").stdout
    assert "Include /etc/ssh/sshd_config.d/*.conf" in include, "the Include must come before any setting"


@pytest.mark.parametrize("user", [DEPLOY_USER, "root", "nobody-in-particular"])
def test_sshd_applies_the_hardened_settings(droplet, user):
    out = droplet.host.run(f"sshd -T -C user={user},host=example.org,addr=198.51.100.7").stdout
    settings = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    assert settings["permitrootlogin"] == "no"
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["authenticationmethods"] == "publickey"
    assert settings["maxauthtries"] == "3"
    assert settings["logingracetime"] == "30"
    assert settings["x11forwarding"] == "no"
    assert settings["port"] == str(droplet.port)
    assert "ecdsa" not in settings["hostkeyalgorithms"]
    assert settings["kexalgorithms"].startswith("mlkem768x25519-sha256,")  # OpenSSH 10 on Debian 13


def test_allow_users_shuts_out_everyone_else(socket_droplet):
    config = socket_droplet.host.run("sshd -T").stdout
    assert f"allowusers {DEPLOY_USER}" in config


def test_socket_activated_sshd_moved_to_the_new_port(socket_droplet, attacker):
    host = socket_droplet.host
    assert host.service("ssh.socket").is_running
    listen = host.run("systemctl show ssh.socket -p Listen --value").stdout
    assert f":{socket_droplet.port} (Stream)" in listen and ":22 " not in listen, listen
    assert attacker.probe(socket_droplet.address, socket_droplet.port) == "open"
    assert attacker.probe(socket_droplet.address, 22) in ("refused", "timeout")
    # The rule that kept port 22 open during the move is gone.
    rules = host.run("ufw show added").stdout
    assert f"allow {socket_droplet.port}/tcp" in rules
    assert "allow 22/tcp" not in rules


def test_ssh_audit_finds_no_failures(droplet):
    run = subprocess.run(  # noqa: S603 - fixed argv, addresses from molecule's inventory
        [venv_tool("ssh-audit"), "-j", "-p", str(droplet.port), droplet.address],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(run.stdout)
    failures = [
        f"{section}: {entry['algorithm']}: {entry['notes']['fail']}"
        for section in ("kex", "key", "enc", "mac")
        for entry in report.get(section, [])
        if entry.get("notes", {}).get("fail")
    ]
    assert not failures
    assert not report.get("cves"), report.get("cves")
    # ssh-audit 3.9 exits 0 (good) or 2 (warnings only: the role keeps the
    # classic curve25519 exchanges next to the post-quantum ones for older
    # clients); 3 means failures, 1 a connection error.
    assert run.returncode in (0, 2), run.stdout[-2000:]
