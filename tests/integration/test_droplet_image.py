"""The local droplet image boots like a fresh droplet: systemd, its own identity, sshd."""

import subprocess

import pytest

from tests.support import droplets

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def pair():
    started = [droplets.start("image-test"), droplets.start("image-test")]
    for droplet in started:
        droplet.wait_booted()
    yield started
    for droplet in started:
        droplet.remove()


def test_image_is_the_recipe_setup_built():
    spec = droplets.run_spec()
    label = subprocess.run(
        ["docker", "image", "inspect", spec["image"], "--format", '{{index .Config.Labels "io.seaworthy.recipe"}}'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert label, "the image lacks its recipe label; scripts/build-droplet-image.sh did not build it"


def test_boots_systemd_without_privileged(pair):
    for droplet in pair:
        state = droplet.wait_booted()
        assert state == "running", droplet.exec("systemctl", "--failed", "--no-legend", check=False).stdout
        privileged = subprocess.run(
            ["docker", "inspect", droplet.name, "--format", "{{.HostConfig.Privileged}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert privileged == "false"


def test_each_droplet_has_its_own_identity(pair):
    machine_ids = {d.exec("cat", "/etc/machine-id").stdout.strip() for d in pair}
    host_keys = {d.exec("ssh-keygen", "-lf", "/etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1] for d in pair}
    assert len(machine_ids) == 2
    assert len(host_keys) == 2


def test_sshd_answers(pair):
    for droplet in pair:
        assert droplet.exec("systemctl", "is-active", "ssh").stdout.strip() == "active"
        probe = "import socket; print(socket.create_connection(('127.0.0.1', 22)).recv(64))"
        banner = droplet.exec("python3", "-c", probe)
        assert "SSH-2.0-OpenSSH" in banner.stdout
