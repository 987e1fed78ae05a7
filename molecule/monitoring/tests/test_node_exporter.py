"""The node exporter: on the VPC address only, reachable from the declared source only."""

import time

from scenario import BACKUP_STATE_DIRECTORY, EXPORTER_PORT, TEXTFILE_DIRECTORY

from tests.support.molecule import wait_for


def listening(droplet, port: int) -> set[str]:
    result = droplet.host.run(f"ss -ltnH 'sport = :{port}'")
    assert result.rc == 0, result.stderr
    return {line.split()[3] for line in result.stdout.splitlines()}


def test_listens_on_the_vpc_address_only(droplet):
    assert listening(droplet, EXPORTER_PORT) == {f"{droplet.vpc_address}:{EXPORTER_PORT}"}
    assert "eth1" in droplet.host.run(f"ip -o -4 addr show to {droplet.vpc_address}").stdout


def test_the_declared_source_scrapes_over_the_vpc(droplet, client):
    metrics = client.scrape(droplet.vpc_address)
    assert "node_exporter_build_info" in metrics
    assert "node_textfile_scrape_error 0" in metrics


def test_an_undeclared_source_in_the_vpc_is_dropped(droplet, client):
    stranger = client.fresh_address()
    assert client.probe(droplet.vpc_address, EXPORTER_PORT, source=stranger) == "timeout"
    # ...while the declared address still gets through.
    assert client.probe(droplet.vpc_address, EXPORTER_PORT, source=client.vpc_address) == "open"


def test_nothing_answers_on_the_public_address(droplet, client):
    assert client.probe(droplet.public_address, EXPORTER_PORT) != "open"


def test_ufw_holds_one_rule_per_declared_source_and_no_stale_one(droplet):
    rules = [line for line in droplet.host.run("ufw show added").stdout.splitlines() if "seaworthy-monitoring" in line]
    assert rules == [
        f"ufw allow from 10.213.116.20 to {droplet.vpc_address} port {EXPORTER_PORT} proto tcp "
        "comment 'seaworthy-monitoring node-exporter'"
    ]
    assert "Status: active" in droplet.host.run("ufw status").stdout


def test_the_textfile_collector_exports_the_backup_outcomes(droplet, client):
    """The backup role's state files, turned into seaworthy_backup.prom by the exporter timer."""
    assert droplet.host.service("seaworthy-backup-metrics.timer").is_enabled
    now = int(time.time())
    droplet.record_backup("postgres", last_success=now)
    droplet.record_backup("uploads", last_success=now - 3600, failed=True)

    def backup_values():
        metrics = client.scrape(droplet.vpc_address)
        values = {
            line.split()[0]: float(line.split()[1])
            for line in metrics.splitlines()
            if line.startswith("seaworthy_backup_")
        }
        return values if 'seaworthy_backup_last_run_success{backup="uploads"}' in values else None

    assert wait_for(backup_values, timeout=15, message="the backup metrics in the scrape") == {
        'seaworthy_backup_last_success_timestamp_seconds{backup="postgres"}': now,
        'seaworthy_backup_last_success_timestamp_seconds{backup="uploads"}': now - 3600,
        'seaworthy_backup_last_run_success{backup="postgres"}': 1,
        'seaworthy_backup_last_run_success{backup="uploads"}': 0,
    }
    assert droplet.host.file(f"{TEXTFILE_DIRECTORY}/seaworthy_backup.prom").mode == 0o644
    droplet.host.run(f"rm -f {BACKUP_STATE_DIRECTORY}/uploads.*")
    droplet.record_backup("postgres", last_success=now)
