"""Issue 12: provision.yml and destroy.yml on the emulator (memory backing)."""

from __future__ import annotations

import pytest

from tests.integration.playbooks.conftest import write_inventory


def stack(tmp_path, **overrides) -> dict:
    description = {
        "site_project": "acme",
        "site_env": "staging",
        "site_region": "nyc3",
        "site_domain": "acme.example.com",
        "site_credentials_dir": str(tmp_path / "credentials"),
        "site_wait_for_ssh": False,  # memory backing: droplets are records, not hosts
        "site_droplet": {"size": "s-1vcpu-1gb", "image": "debian-13-x64", "count": 2},
        "site_database": {"mode": "managed", "engine": "postgres", "version": "16", "pool": True},
        "site_storage": {"mode": "none"},
        "site_proxy": {"kind": "caddy"},
        "site_dns": {"managed": True, "records": ["@", "www"]},
    }
    description.update(overrides)
    return description


def names(state: dict, kind: str) -> set[str]:
    return {item.get("name") for item in state.get(kind, {}).values()} if isinstance(state.get(kind), dict) else set()


def test_provision_converges_reruns_clean_and_destroy_spares_others(playbook, emulator, do_client, tmp_path):
    inventory = write_inventory(tmp_path / "inv", stack(tmp_path))
    bystander = do_client.droplets.create(
        {
            "name": "acme-production-web-1",
            "region": "nyc3",
            "size": "s-1vcpu-1gb",
            "image": "debian-13-x64",
            "tags": ["project:acme", "env:production", "role:web"],
        }
    )["droplet"]

    first = playbook("provision.yml", inventory)
    assert first.rc == 0, first.failures() or first.stderr
    droplets = {d["name"]: d for d in do_client.droplets.list(tag_name="env:staging")["droplets"]}
    assert set(droplets) == {"acme-staging-web-1", "acme-staging-web-2"}
    assert all({"project:acme", "env:staging", "role:web"} <= set(d["tags"]) for d in droplets.values())
    assert [lb["name"] for lb in do_client.load_balancers.list()["load_balancers"]] == ["acme-staging-lb"]
    assert [db["name"] for db in do_client.databases.list_clusters()["databases"]] == ["acme-staging-db"]
    lb_ip = do_client.load_balancers.list()["load_balancers"][0]["ip"]
    records = do_client.domains.list_records("acme.example.com")["domain_records"]
    assert {(r["name"], r["data"]) for r in records if r["type"] == "A"} == {("@", lb_ip), ("www", lb_ip)}
    assert (tmp_path / "credentials" / "id_ed25519").stat().st_mode & 0o077 == 0

    second = playbook("provision.yml", inventory)
    assert second.rc == 0, second.failures()
    assert second.changed == 0, second.changed_tasks()

    check = playbook("provision.yml", inventory, "--check")
    assert check.rc == 0, check.failures()
    assert check.changed == 0, check.changed_tasks()

    refused = playbook("destroy.yml", inventory)
    assert refused.rc != 0
    assert any("destroy_confirm" in f for f in refused.failures())
    assert len(do_client.droplets.list(tag_name="env:staging")["droplets"]) == 2

    destroyed = playbook("destroy.yml", inventory, "-e", "destroy_confirm=acme-staging")
    assert destroyed.rc == 0, destroyed.failures()
    left = [d["name"] for d in do_client.droplets.list()["droplets"]]
    assert left == ["acme-production-web-1"]
    assert do_client.droplets.get(bystander["id"])["droplet"]["status"] == "active"
    assert do_client.load_balancers.list()["load_balancers"] == []
    assert do_client.databases.list_clusters()["databases"] in ([], None)
    assert [f["name"] for f in do_client.firewalls.list()["firewalls"]] == []
    assert "acme-staging-vpc" not in {v["name"] for v in do_client.vpcs.list()["vpcs"]}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"site_database": {"mode": "sqlite"}}, "site_database.mode"),
        ({"site_proxy": {"kind": "traefik"}}, "site_proxy.kind"),
        ({"site_project": "Acme Corp"}, "site_project"),
        ({"site_storage": {"mode": "spaces"}}, "site_storage"),
    ],
)
def test_a_bad_description_fails_naming_the_key_before_any_call(playbook, emulator, tmp_path, override, message):
    inventory = write_inventory(tmp_path / "inv", stack(tmp_path, **override))
    mark = emulator.mark()
    run = playbook("provision.yml", inventory)
    assert run.rc != 0
    assert any(message in f for f in run.failures()), run.failures()
    assert emulator.requests(mark) == []
