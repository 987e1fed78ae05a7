"""The Docker engine: sources, daemon settings, users."""

import json

from scenario import DEPLOY_USER


def test_engine_runs_with_log_rotation_and_live_restore(docker_droplet):
    host = docker_droplet.host
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert config["live-restore"] is True
    info = host.run("docker info --format '{{.LoggingDriver}} {{.LiveRestoreEnabled}}'").stdout.strip()
    assert info == "json-file true"


def test_distribution_packages_with_compose_v2(docker_droplet):
    host = docker_droplet.host
    assert host.package("docker.io").is_installed
    assert not host.package("docker-ce").is_installed
    assert host.run("docker compose version --short").stdout.strip().startswith("2.")


def test_firewall_unit_runs_before_the_engine(docker_droplet):
    host = docker_droplet.host
    unit = host.service("docker-user-firewall")
    assert unit.is_enabled and unit.is_running
    required = host.run("systemctl show docker.service -p Requires --value").stdout
    assert "docker-user-firewall.service" in required


def test_deploy_user_runs_docker_without_sudo(docker_droplet, attacker):
    result = attacker.ssh(docker_droplet, DEPLOY_USER, command="docker ps --format '{{.ID}}'")
    assert result.rc == 0, result.stderr


def test_forwarding_is_on_for_docker_and_off_elsewhere(droplets):
    for droplet in droplets:
        sysctl = droplet.host.file("/etc/sysctl.d/60-seaworthy-hardening.conf")
        expected = "1" if droplet.docker else "0"
        assert sysctl.contains(f"^net.ipv4.ip_forward = {expected}$"), droplet.name
