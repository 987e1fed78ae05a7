"""Releases, in order: release 1 (converge) on both droplets, release 2 as a rolling deploy
behind the load balancer under load, then on app-1 alone three broken releases under load,
rollback.yml, kept releases, the deploy lock.

Every deploy here runs the scenario's converge.yml (playbooks/deploy.yml) with extra vars,
while the load generator sends requests to stack_upstream (and through the load balancer):
none may fail.
"""

from __future__ import annotations

import re
import time

import pytest

NOTE = "written before the deploys"


def task_hosts(output: str) -> list[tuple[str, str]]:
    """(task name, host) for each ok/changed result of a playbook's output, in order."""
    played, task = [], ""
    # Molecule sets ANSIBLE_FORCE_COLOR: results come wrapped in colour codes.
    for line in re.sub(r"\x1b\[[0-9;]*m", "", output).splitlines():
        if match := re.match(r"TASK \[(?:[\w.]+ : )?(.*?)\]", line):
            task = match[1]
        elif match := re.match(r"(?:ok|changed): \[([\w-]+)\]", line):
            played.append((task, match[1]))
    return played


def assert_no_failed_requests(numbers: dict) -> None:
    assert numbers["sent"] > 50, numbers
    assert numbers["failed"] == 0, numbers


def test_release_1_is_live_behind_the_upstream(droplet, droplet2, lb):
    for host in (droplet, droplet2):
        live = host.live()
        assert live["version"] == "1"
        assert host.host.file("/opt/shop/current").linked_to == f"/opt/shop/releases/{live['release']}"
        status, headers, body = host.http("/")
        assert status == 200 and body["version"] == "1"
        assert headers["x-seaworthy-release"] == live["release"]
        assert host.host.service("seaworthy-shop-router.service").is_running
        status, _headers, body = host.http("/_seaworthy/up")
        assert status == 200, body
    # The lighter droplet: the web service alone.
    names = droplet2.run("docker ps --format '{{.Names}}'").stdout.split()
    assert len(names) == 1 and re.fullmatch(r"shop-(blue|green)-web-1-1", names[0]), names
    deadline = time.monotonic() + 30
    while {row["status"] for row in lb.servers().values()} != {"UP"} and time.monotonic() < deadline:
        time.sleep(0.5)
    assert {name: row["status"] for name, row in lb.servers().items()} == {"app-1": "UP", "app-2": "UP"}


def test_secrets_and_ports_are_kept_close(droplet):
    release = droplet.live()["release"]
    for name in ("web.env", "worker.env", "beat.env"):
        env = droplet.host.file(f"/opt/shop/releases/{release}/{name}")
        assert env.mode == 0o600 and env.user == "deploy", name
    assert "APP_SECRET='test-only-secret'" in droplet.host.file(f"/opt/shop/releases/{release}/web.env").content_string
    for name in ("postgres_password", "redis_password"):
        secret = droplet.host.file(f"/etc/shop/secrets/{name}")
        assert secret.mode == 0o600 and secret.user == "root" and len(secret.content_string) == 32
    published = droplet.run("docker ps --format '{{.Names}} {{.Ports}}'").stdout
    assert re.findall(r"\d+\.\d+\.\d+\.\d+:\d+", published), published
    assert all(p.startswith("127.0.0.1:") for p in re.findall(r"\d+\.\d+\.\d+\.\d+:\d+", published)), published


def test_accessories_workers_and_data(droplet):
    names = droplet.run("docker ps --format '{{.Names}} {{.Status}}'").stdout
    assert re.search(r"shop-accessories-postgres-1 .*healthy", names), names
    assert re.search(r"shop-accessories-redis-1 .*healthy", names), names
    assert "shop-workers-worker-1" in names and "shop-workers-beat-1" in names
    status, headers, body = droplet.http("/notes", "POST", NOTE)
    assert status == 201 and headers["x-app-version"] == "1", body


def test_release_2_rolls_over_both_droplets_with_zero_failed_requests(droplet, droplet2, lb, deploy):
    """One droplet at a time (stack_serial=1): each leaves the load balancer while it switches
    (its health check fails: HAProxy counts one fall, chkdown), comes back, then the next one
    goes. Through the load balancer (no retries) and on app-1's own upstream, nothing fails."""
    before = droplet.host.file("/etc/shop/secrets/postgres_password").content_string
    falls = {name: int(row["chkdown"]) for name, row in lb.servers().items()}
    load, through_lb = droplet.load(), lb.load()
    time.sleep(2)
    result = deploy(stack_version="2", stack_serial=1, stack_deploy_hosts="role_web")
    time.sleep(2)
    numbers, lb_numbers = load.stop(), through_lb.stop()
    servers = lb.servers()
    assert result.returncode == 0, result.stdout[-4000:]
    assert_no_failed_requests(numbers)
    assert_no_failed_requests(lb_numbers)
    assert set(numbers["versions"]) == {"1", "2"}, numbers
    assert set(lb_numbers["versions"]) == {"1", "2"}, lb_numbers
    # Each droplet left the pool exactly once, and both are back in it.
    assert {name: int(row["chkdown"]) - falls[name] for name, row in servers.items()} == {"app-1": 1, "app-2": 1}, (
        servers
    )
    assert {name: row["status"] for name, row in servers.items()} == {"app-1": "UP", "app-2": "UP"}, servers
    # One at a time: app-1 was back (its deploy finished) before app-2 switched.
    steps = [
        (task, host)
        for task, host in task_hosts(result.stdout)
        if task.startswith(("Take the droplet out of the load balancer", "Let the load balancer take the droplet back"))
    ]
    assert [host for _task, host in steps] == ["app-1", "app-1", "app-2", "app-2"], steps
    assert droplet2.live()["version"] == "2" and droplet2.http("/")[2]["version"] == "2"
    assert droplet.live()["version"] == "2"
    assert droplet.http("/")[2]["version"] == "2"
    assert NOTE in droplet.http("/notes")[2]["notes"]
    assert droplet.host.file("/etc/shop/secrets/postgres_password").content_string == before
    images = droplet.run("docker ps --format '{{.Names}} {{.Image}}'").stdout
    assert "shop-workers-worker-1 shop-web:2" in images and "shop-workers-beat-1 shop-web:2" in images
    # The old slot is gone; one slot serves.
    assert len(re.findall(r"shop-(blue|green)-web-\d", images)) == 2, images


@pytest.mark.parametrize(
    ("extra", "step"),
    [
        ({"scenario_app_mode": "crash"}, "start|health"),
        ({"scenario_app_mode": "unhealthy"}, "health"),
        ({"scenario_migration_fail": "1"}, "migration"),
    ],
    ids=["crashes", "never-healthy", "failing-migration"],
)
def test_a_broken_release_leaves_release_2_serving(droplet, deploy, extra, step):
    live = droplet.live()
    load = droplet.load()
    time.sleep(2)
    # A healthy release answers within a second or two: 8 s is plenty to call these broken.
    result = deploy(stack_version="3", stack_health_timeout=8, **extra)
    time.sleep(1)
    numbers = load.stop()
    assert result.returncode != 0
    assert re.search(rf"FAILED at step '({step})'", result.stdout), result.stdout[-4000:]
    assert f"rolled back: release {live['release']} is still serving" in result.stdout
    assert_no_failed_requests(numbers)
    assert set(numbers["versions"]) == {live["version"]}, numbers
    assert droplet.live() == live
    assert NOTE in droplet.http("/notes")[2]["notes"]
    assert not droplet.host.file("/opt/shop/deploy.lock").exists
    assert "failure deploy" in droplet.host.file("/opt/shop/deploy.log").content_string


def test_rollback_returns_to_the_previous_release(droplet, rollback):
    previous = droplet.previous()
    load = droplet.load()
    time.sleep(2)
    result = rollback()
    time.sleep(1)
    numbers = load.stop()
    assert result.returncode == 0, result.stdout[-4000:]
    assert_no_failed_requests(numbers)
    assert droplet.live()["release"] == previous
    assert droplet.http("/")[2]["version"] == droplet.live()["version"]


def test_a_second_deploy_fails_clearly_on_the_lock(droplet, deploy):
    import threading

    results = {}
    first = threading.Thread(
        target=lambda: results.setdefault("first", deploy(stack_version="4", stack_keep_releases=1))
    )
    first.start()
    deadline = time.monotonic() + 120
    while not droplet.host.file("/opt/shop/deploy.lock").exists and time.monotonic() < deadline:
        time.sleep(0.5)
    second = deploy(stack_version="5", stack_lock_timeout=0)
    first.join()
    assert second.returncode != 0
    assert "holds the lock /opt/shop/deploy.lock" in second.stdout, second.stdout[-3000:]
    assert results["first"].returncode == 0, results["first"].stdout[-4000:]
    assert droplet.live()["version"] == "4"


def test_keep_releases_prunes_old_releases_and_their_images(droplet):
    # stack_keep_releases=1: the live release 4 and the newest other one are kept; release 1 went.
    releases = droplet.releases()
    assert len(releases) == 2 and releases[0].startswith("4-"), releases
    kept_other = releases[1].split("-")[0]
    images = droplet.run("docker images --format '{{.Repository}}:{{.Tag}}'").stdout.split()
    assert "shop-web:1" not in images, images
    assert "shop-web:4" in images and f"shop-web:{kept_other}" in images, images


def test_a_stale_lock_is_broken_and_rollback_to_a_named_release(droplet, rollback):
    droplet.run(
        """printf '{"token": "gone", "by": "crashed-run"}\\n' >/opt/shop/deploy.lock && touch -d '2 hours ago' /opt/shop/deploy.lock"""
    )
    kept_other = droplet.previous().split("-")[0]
    result = rollback(stack_rollback_release=kept_other)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "broke a stale lock" in result.stdout
    assert droplet.live()["version"] == kept_other
    log = droplet.host.file("/opt/shop/deploy.log").content_string
    assert "success rollback" in log and "failure deploy" in log
    assert not droplet.host.file("/opt/shop/deploy.lock").exists
