"""Issue 4: droplets created through the API are real systemd hosts (EMULATOR_BACKING=docker)."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.support.droplets import address, ssh

pytestmark = pytest.mark.docker

SIZE = {"region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}


def wait_active(client, droplet_id, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        droplet = client.droplets.get(droplet_id)["droplet"]
        if droplet["status"] == "active":
            return droplet
        time.sleep(0.5)
    raise AssertionError(f"droplet {droplet_id} not active after {timeout} s")


def can_connect(key, from_ip, to_ip, port):
    probe = f"python3 -c \"import socket; socket.create_connection(('{to_ip}', {port}), timeout=3); print('open')\""
    return ssh(key, from_ip, probe, check=False).stdout.strip() == "open"


@pytest.fixture(scope="module")
def two_droplets(docker_client, ssh_key):
    key = docker_client.ssh_keys.create({"name": "tests", "public_key": ssh_key.with_suffix(".pub").read_text()})[
        "ssh_key"
    ]
    user_data = "#cloud-config\nwrite_files:\n  - path: /etc/seaworthy-user-data\n    content: written by cloud-init\n"
    web = docker_client.droplets.create(
        {"name": "web-1", "ssh_keys": [key["id"]], "user_data": user_data, "tags": ["web"], **SIZE}
    )["droplet"]
    probe = docker_client.droplets.create({"name": "probe-1", "ssh_keys": [key["id"]], **SIZE})["droplet"]
    return wait_active(docker_client, web["id"]), wait_active(docker_client, probe["id"])


def test_droplet_is_a_booted_host_reachable_over_ssh(two_droplets, ssh_key):
    web, _ = two_droplets
    state = ssh(ssh_key, address(web), "systemctl is-system-running --wait", check=False).stdout.strip()
    assert state in ("running", "degraded")
    assert ssh(ssh_key, address(web), "hostname").stdout.strip() == "web-1"


def test_user_data_ran_and_completion_is_observable(two_droplets, ssh_key):
    web, _ = two_droplets
    out = ssh(
        ssh_key,
        address(web),
        "cloud-init status --wait >/dev/null; cat /etc/seaworthy-user-data; test -f /var/lib/cloud/instance/boot-finished && echo finished",
    )
    assert out.stdout.strip() == "written by cloud-initfinished"  # the file has no trailing newline


def test_private_network_is_the_vpc(two_droplets, ssh_key, docker_client):
    web, probe = two_droplets
    vpc = docker_client.vpcs.get(web["vpc_uuid"])["vpc"]
    import ipaddress

    assert ipaddress.ip_address(address(web, "private")) in ipaddress.ip_network(vpc["ip_range"])
    assert can_connect(ssh_key, address(probe), address(web, "private"), 22)


def test_cloud_firewall_is_enforced(two_droplets, ssh_key, docker_client):
    web, probe = two_droplets
    ssh(ssh_key, address(web), "systemd-run --unit probe-http python3 -m http.server 8080")
    time.sleep(1)
    assert can_connect(ssh_key, address(probe), address(web), 8080), "open before any firewall"
    firewall = docker_client.firewalls.create(
        {
            "name": "ssh-only",
            "droplet_ids": [web["id"]],
            "inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["0.0.0.0/0", "::/0"]}}],
            "outbound_rules": [{"protocol": "tcp", "ports": "0", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}}],
        }
    )["firewall"]
    assert not can_connect(ssh_key, address(probe), address(web), 8080), "8080 must be blocked by the firewall"
    assert can_connect(ssh_key, address(probe), address(web), 22)
    docker_client.firewalls.add_rules(
        firewall["id"], {"inbound_rules": [{"protocol": "tcp", "ports": "8080", "sources": {"tags": ["web"]}}]}
    )
    assert not can_connect(ssh_key, address(probe), address(web), 8080), "probe-1 is not tagged web"
    docker_client.firewalls.delete(firewall["id"])
    assert can_connect(ssh_key, address(probe), address(web), 8080), "open again once the firewall is gone"


def test_power_and_delete(two_droplets, ssh_key, docker_client, docker_emulator):
    _, probe = two_droplets
    action = docker_client.droplet_actions.post(probe["id"], {"type": "power_off"})["action"]
    while docker_client.actions.get(action["id"])["action"]["status"] == "in-progress":
        time.sleep(0.5)
    container = f"seaworthy-emu-{docker_emulator.app.backends.docker.instance}-droplet-{probe['id']}"
    running = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}}", container], capture_output=True, text=True, check=True
    )
    assert running.stdout.strip() == "false"
    docker_client.droplets.destroy(probe["id"])
    deadline = time.time() + 30
    while (
        time.time() < deadline
        and subprocess.run(["docker", "inspect", container], capture_output=True, check=False).returncode == 0
    ):
        time.sleep(0.5)
    assert subprocess.run(["docker", "inspect", container], capture_output=True, check=False).returncode != 0, (
        "container gone"
    )


def test_unbootable_image_is_refused_with_the_alternatives(docker_client):
    from azure.core.exceptions import HttpResponseError

    with pytest.raises(HttpResponseError) as refused:
        docker_client.droplets.create({"name": "u-1", **{**SIZE, "image": "ubuntu-24-04-x64"}})
    assert "debian-13-x64" in str(refused.value) and "EMULATOR_IMAGE_MAP" in str(refused.value)
