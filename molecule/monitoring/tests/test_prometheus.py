"""Prometheus (Debian's package, live): loopback only, scraping the node exporter, with the rules."""

import shlex
import time
from pathlib import Path

from tests.support.molecule import wait_for


def test_listens_on_loopback_only(droplet):
    result = droplet.host.run("ss -ltnH 'sport = :9090'")
    assert {line.split()[3] for line in result.stdout.splitlines()} == {"127.0.0.1:9090"}


def test_scrapes_the_node_exporter_on_its_vpc_address(droplet):
    def node_up():
        data = droplet.prometheus("/api/v1/query", query='up{job="node"}')["data"]["result"]
        return data if data and data[0]["value"][1] == "1" else None

    result = wait_for(node_up, timeout=30, message='up{job="node"} == 1')
    assert [(r["metric"]["host"], r["metric"]["instance"]) for r in result] == [
        (droplet.name, f"{droplet.vpc_address}:9100")
    ]


def test_no_sample_from_the_package_default_targets(droplet):
    """Debian's package scrapes localhost:9090/:9100 the moment it is installed; the role discards that."""
    ever = droplet.prometheus("/api/v1/query", query="group by (job, instance) (last_over_time(up[1h]))")
    targets = {(r["metric"]["job"], r["metric"]["instance"]) for r in ever["data"]["result"]}
    assert {instance for job, instance in targets if job == "node"} == {f"{droplet.vpc_address}:9100"}
    assert not {t for t in targets if t[1].startswith("localhost:")}, targets


def test_the_alert_rules_are_loaded(droplet):
    groups = droplet.prometheus("/api/v1/rules")["data"]["groups"]
    alerts = {rule["name"] for group in groups for rule in group["rules"]}
    assert alerts == {"InstanceDown", "DiskAlmostFull", "BackupTooOld", "BackupFailed"}
    assert all(rule["health"] == "ok" for group in groups for rule in group["rules"])
    # Nothing is down or full on a fresh droplet.
    firing = droplet.prometheus("/api/v1/alerts")["data"]["alerts"]
    assert [a for a in firing if a["labels"]["alertname"] in {"InstanceDown", "DiskAlmostFull"}] == []


def test_the_alert_rules_fire_when_they_should(droplet):
    """promtool's rule unit tests: each alert fires past its threshold, not before."""
    tests = (Path(__file__).parent / "rules_test.yml").read_text()
    result = droplet.host.run(
        f"printf '%s' {shlex.quote(tests)} > /tmp/rules_test.yml && promtool test rules /tmp/rules_test.yml"
    )
    assert result.rc == 0, result.stdout + result.stderr


def test_promtool_accepts_the_installed_configuration(droplet):
    result = droplet.host.run("promtool check config /etc/prometheus/prometheus.yml")
    assert result.rc == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_a_backup_older_than_26_hours_raises_backup_too_old(droplet):
    """Live: a last success 30 hours ago turns BackupTooOld pending; a fresh one clears it."""

    def backup_alert():
        alerts = droplet.prometheus("/api/v1/alerts")["data"]["alerts"]
        return next((a for a in alerts if a["labels"]["alertname"] == "BackupTooOld"), None)

    droplet.record_backup("postgres", last_success=time.time() - 30 * 3600)
    try:
        alert = wait_for(backup_alert, timeout=45, message="BackupTooOld pending")
        assert alert["state"] == "pending"  # `for: 10m` before it fires
        assert alert["labels"]["host"] == droplet.name
        assert alert["labels"]["backup"] == "postgres"
    finally:
        droplet.record_backup("postgres", last_success=time.time())
    wait_for(lambda: backup_alert() is None, timeout=45, message="BackupTooOld cleared by a fresh backup")
