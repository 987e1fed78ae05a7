"""The compose project: rendered and validated (no registry here to pull its images)."""

import json

import pytest
from scenario import SCENARIO_DIRECTORY

from tests.support.molecule import failure_messages, run_playbook

STACK = "/opt/monitoring"
COMPOSE_VARIANT = "/tmp/monitoring-compose"  # noqa: S108 - inside the droplet


def compose_config(droplet, directory: str) -> dict:
    result = droplet.host.run(f"docker compose --project-directory {directory} config --format json")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def converge(*args: str) -> tuple[int, dict]:
    return run_playbook(SCENARIO_DIRECTORY / "converge.yml", *args, timeout=300)


def test_grafana_serves_the_proxy_on_loopback_under_grafana(droplet):
    config = compose_config(droplet, STACK)
    # Prometheus comes from the package on this host: not in the project.
    assert set(config["services"]) == {"grafana", "loki", "alloy"}
    grafana = config["services"]["grafana"]
    assert grafana["network_mode"] == "host"
    assert "ports" not in grafana
    environment = grafana["environment"]
    assert environment["GF_SERVER_HTTP_ADDR"] == "127.0.0.1"
    assert environment["GF_SERVER_HTTP_PORT"] == "3000"
    assert environment["GF_SERVER_ROOT_URL"] == "https://monitoring.example.test/grafana/"
    assert environment["GF_SERVER_SERVE_FROM_SUB_PATH"] == "true"
    assert environment["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"  # noqa: S105 - a path
    assert not any("PASSWORD" in key and not key.endswith("__FILE") for key in environment)
    assert all(":" in image for image in (s["image"] for s in config["services"].values()))


def test_the_admin_password_is_generated_once_and_kept_private(droplet):
    secret = droplet.host.file(f"{STACK}/secrets/grafana-admin-password")
    assert secret.is_file
    assert secret.mode == 0o600
    assert secret.uid == 472
    assert len(secret.content_string) == 32
    assert droplet.host.file(f"{STACK}/secrets").mode == 0o700


def test_grafana_is_provisioned(droplet):
    datasources = droplet.host.file(f"{STACK}/grafana/provisioning/datasources/seaworthy.yml").content_string
    assert "url: http://127.0.0.1:9090" in datasources
    assert "url: http://127.0.0.1:3100" in datasources
    dashboard = json.loads(droplet.host.file(f"{STACK}/grafana/dashboards/node-exporter.json").content_string)
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert any("seaworthy_backup_last_success_timestamp_seconds" in e for e in expressions)
    assert all(p["datasource"]["uid"] == "prometheus" for p in dashboard["panels"])


def test_loki_and_alloy_bind_loopback(droplet):
    loki = droplet.host.file(f"{STACK}/loki/config.yaml").content_string
    assert "http_listen_address: 127.0.0.1" in loki
    assert "grpc_listen_address: 127.0.0.1" in loki
    alloy = droplet.host.file(f"{STACK}/alloy/config.alloy").content_string
    assert 'url = "http://127.0.0.1:3100/loki/api/v1/push"' in alloy


@pytest.fixture(scope="module")
def compose_variant(droplet):
    """The same role with Prometheus in the project, rendered into another directory."""
    rc, report = converge(
        "--tags",
        "monitoring_stack",
        "-e",
        json.dumps(
            {
                "monitoring_prometheus_source": "compose",
                "monitoring_stack_directory": COMPOSE_VARIANT,
                # Loki and Alloy are checked in the main project already.
                "monitoring_loki_enabled": False,
            }
        ),
    )
    assert rc == 0, failure_messages(report)
    yield compose_config(droplet, COMPOSE_VARIANT)
    droplet.host.run(f"rm -rf {COMPOSE_VARIANT}")


def test_the_compose_variant_runs_prometheus_on_loopback(droplet, compose_variant):
    assert set(compose_variant["services"]) == {"prometheus", "grafana"}
    prometheus = compose_variant["services"]["prometheus"]
    assert prometheus["network_mode"] == "host"
    assert "--web.listen-address=127.0.0.1:9090" in prometheus["command"]
    for path in ("prometheus.yml", "rules/seaworthy.rules.yml"):
        assert droplet.host.file(f"{COMPOSE_VARIANT}/prometheus/{path}").is_file
    for path in ("prometheus", "prometheus/rules", "grafana", "grafana/provisioning/datasources"):
        directory = droplet.host.file(f"{COMPOSE_VARIANT}/{path}")
        assert (directory.is_directory, directory.mode, directory.user) == (True, 0o755, "root")
    checked = droplet.host.run(
        f"promtool check config --syntax-only {COMPOSE_VARIANT}/prometheus/prometheus.yml"
        f" && promtool check rules {COMPOSE_VARIANT}/prometheus/rules/seaworthy.rules.yml"
    )
    assert checked.rc == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("extra_vars", "named"),
    [
        ({"monitoring_node_exporter_interface": "eth7"}, "monitoring_node_exporter_interface 'eth7'"),
        ({"monitoring_node_exporter_address": "192.0.2.1"}, "monitoring_node_exporter_address '192.0.2.1'"),
        ({"monitoring_node_exporter_allowed_sources": ["the-vpc"]}, "monitoring_node_exporter_allowed_sources"),
        ({"monitoring_prometheus_scrape_group": "nosuch"}, "monitoring_prometheus_scrape_group 'nosuch'"),
    ],
    ids=["no-such-interface", "foreign-address", "source-not-cidr", "no-such-group"],
)
def test_bad_input_fails_before_any_change(droplet, extra_vars, named):
    rc, report = converge("-e", json.dumps(extra_vars))
    assert rc != 0
    stats = report["stats"][droplet.name]
    assert stats["failures"] == 1
    assert stats["changed"] == 0
    assert any(named in msg for msg in failure_messages(report)), failure_messages(report)
