"""UFW on every droplet, and Docker-published ports that do not bypass it."""

import pytest

from tests.support.molecule import wait_for

TEST_IMAGE = "seaworthy-test/usr-from-host:1"
# No registry is reachable: the image is a tar of four symlinks (bin, lib,
# lib64, sbin -> usr/...) and the droplet's own /usr is mounted read-only, so
# the droplet's python3 serves HTTP inside the container.
BUILD_IMAGE = f"""
set -e
docker image inspect {TEST_IMAGE} >/dev/null 2>&1 && exit 0
d=$(mktemp -d); cd "$d"
ln -s usr/bin bin; ln -s usr/lib lib; ln -s usr/lib64 lib64; ln -s usr/sbin sbin
mkdir usr tmp; chmod 1777 tmp
tar -c . | docker import - {TEST_IMAGE} >/dev/null
rm -rf "$d"
"""
# name -> published host ports; 80 and 443 are declared public, 8080 is not.
CONTAINERS = {"public-web": [80, 443], "leaky-app": [8080]}


def test_ufw_denies_by_default_and_allows_ssh_http_https(droplet):
    status = droplet.host.run("ufw status verbose").stdout
    assert "Status: active" in status
    assert "Default: deny (incoming), allow (outgoing), deny (routed)" in status
    for port in (droplet.port, 80, 443):
        assert f"{port}/tcp                   " in status or f"{port}/tcp " in status, status
        assert f"{port}/tcp (v6)" in status, "IPv6 gets the same rules"


@pytest.fixture(scope="module")
def published(docker_droplet):
    """Containers started the way an application would, publishing 80, 443 and 8080."""
    host = docker_droplet.host
    result = host.run(BUILD_IMAGE)
    assert result.rc == 0, result.stderr
    for name, ports in CONTAINERS.items():
        host.run(f"docker rm -f {name}")
        publish = " ".join(f"-p {port}:8000" for port in ports)
        result = host.run(
            f"docker run -d --name {name} --restart unless-stopped -v /usr:/usr:ro {publish} "
            f"{TEST_IMAGE} python3 -m http.server 8000"
        )
        assert result.rc == 0, result.stderr
    for port in (80, 443, 8080):
        wait_for(
            lambda p=port: (
                host.run(f"python3 -c \"import urllib.request as u; u.urlopen('http://127.0.0.1:{p}/', timeout=2)\"").rc
                == 0
            ),
            timeout=20,
            message=f"the container behind port {port} to serve on the droplet itself",
        )
    yield docker_droplet
    for name in CONTAINERS:
        host.run(f"docker rm -f {name}")


def _check_reachability(droplet, attacker):
    assert attacker.http_get(droplet.address, 80) == "200"
    assert attacker.http_get(droplet.address, 443) == "200"
    # Published by a container, not declared: dropped in DOCKER-USER.
    assert attacker.probe(droplet.address, 8080) == "timeout"


def test_only_declared_published_ports_are_reachable(published, attacker):
    _check_reachability(published, attacker)
    chain = published.host.run("iptables -S DOCKER-USER").stdout
    assert "--ctorigdstport 80 " in chain and "--ctorigdstport 443 " in chain
    assert "--ctorigdstport 8080" not in chain


def test_the_filter_survives_ufw_reload_and_docker_restart(published, attacker):
    host = published.host
    assert host.run("ufw reload").rc == 0
    assert host.run("systemctl restart docker").rc == 0
    wait_for(
        lambda: host.run("docker inspect -f '{{.State.Running}}' public-web").stdout.strip() == "true",
        timeout=30,
        message="the containers after the engine restart",
    )
    _check_reachability(published, attacker)
    rules = host.run("iptables -S DOCKER-USER").stdout.splitlines()
    assert len(rules) == len(set(rules)), "reloading must not duplicate rules"
