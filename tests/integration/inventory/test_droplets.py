"""seaworthy.digitalocean.droplets: `ansible-inventory` against the emulator."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, api_calls

GOLDEN = Path(__file__).parent / "golden"
PLUGIN = {"plugin": "seaworthy.digitalocean.droplets"}
LIST_DROPLETS = "GET /v2/droplets?per_page=200&page=1"
FRESHTRACK = ["project:freshtrack", "env:production"]
# The fleet: name -> (region, size, tags, create options)
FLEET = {
    "freshtrack-production-web-1": ("nyc3", "s-1vcpu-1gb", [*FRESHTRACK, "role:web", "monitoring"], {}),
    "freshtrack-production-web-2": ("nyc3", "s-1vcpu-1gb", [*FRESHTRACK, "role:web", "monitoring"], {}),
    "freshtrack-production-worker-1": ("nyc3", "s-2vcpu-4gb", [*FRESHTRACK, "role:worker", "team:ops"], {}),
    "malar-staging-web-1": ("fra1", "s-1vcpu-1gb", ["project:malar", "env:staging", "role:web"], {"ipv6": True}),
    "scratch": ("sgp1", "s-1vcpu-1gb", [], {}),
}


def create(do_client, names, region, size="s-1vcpu-1gb", tags=(), **extra):
    """Droplets in one create call (up to 10 names); their ids."""
    body = {"names": list(names), "region": region, "size": size, "image": "debian-13-x64", "tags": list(tags)}
    body.update(extra)
    return [d["id"] for d in do_client.droplets.create(body)["droplets"]]


@pytest.fixture
def fleet(do_client):
    """The FLEET, the freshtrack droplets in project "FreshTrack Pro"; name -> id, plus the project."""
    ids = {}
    for name, (region, size, tags, extra) in FLEET.items():
        (ids[name],) = create(do_client, [name], region, size, tags, **extra)
    project = do_client.projects.create(
        {"name": "FreshTrack Pro", "purpose": "Web Application", "environment": "Production"}
    )["project"]
    do_client.projects.create({"name": "Malar", "purpose": "Web Application", "environment": "Staging"})
    freshtrack = [f"do:droplet:{i}" for n, i in ids.items() if n.startswith("freshtrack")]
    do_client.projects.assign_resources(project["id"], {"resources": freshtrack})
    return {"ids": ids, "project": project}


def test_groups_hostvars_and_one_list_call(emulator, inventory, fleet):
    mark = emulator.mark()
    run = inventory(PLUGIN)
    assert run.rc == 0, run.stderr
    assert api_calls(emulator, mark) == [LIST_DROPLETS]
    web = ["freshtrack-production-web-1", "freshtrack-production-web-2"]
    freshtrack = [*web, "freshtrack-production-worker-1"]
    groups = run.groups()
    vpc_groups = {g for g in groups if g.startswith("vpc_")}
    assert len(vpc_groups) == 3, "one default VPC per region"
    assert {g: h for g, h in groups.items() if g not in vpc_groups} == {
        "project_freshtrack": freshtrack,
        "project_malar": ["malar-staging-web-1"],
        "env_production": freshtrack,
        "env_staging": ["malar-staging-web-1"],
        "role_web": sorted([*web, "malar-staging-web-1"]),
        "role_worker": ["freshtrack-production-worker-1"],
        "region_nyc3": freshtrack,
        "region_fra1": ["malar-staging-web-1"],
        "region_sgp1": ["scratch"],
        "size_s_1vcpu_1gb": sorted([*web, "malar-staging-web-1", "scratch"]),
        "size_s_2vcpu_4gb": ["freshtrack-production-worker-1"],
        "tag_monitoring": web,
        "tag_team_ops": ["freshtrack-production-worker-1"],
    }

    droplets = {d["name"]: d for d in emulator.state()["droplets"].values()}
    host = run.hostvars["malar-staging-web-1"]
    api = droplets["malar-staging-web-1"]
    public_v4 = next(n["ip_address"] for n in api["networks"]["v4"] if n["type"] == "public")
    private_v4 = next(n["ip_address"] for n in api["networks"]["v4"] if n["type"] == "private")
    public_v6 = next(n["ip_address"] for n in api["networks"]["v6"] if n["type"] == "public")
    assert host == {
        "ansible_host": public_v4,
        "do_id": api["id"],
        "do_name": "malar-staging-web-1",
        "do_region": "fra1",
        "do_size": "s-1vcpu-1gb",
        "do_image": {k: api["image"][k] for k in ("id", "slug", "name", "distribution")},
        "do_tags": ["project:malar", "env:staging", "role:web"],
        "do_networks": api["networks"],
        "do_vpc_uuid": api["vpc_uuid"],
        "do_status": "active",
        "do_created_at": api["created_at"],
        "do_features": api["features"],
        "do_public_ipv4": public_v4,
        "do_private_ipv4": private_v4,
        "do_public_ipv6": public_v6,
    }
    assert f"vpc_{api['vpc_uuid'].replace('-', '_')}" in groups
    assert "ipv6" in host["do_features"]
    assert "WARNING" not in run.stderr, run.stderr


def normalized_graph(text: str, emulator) -> str:
    """The graph with each VPC's random uuid replaced by `<default VPC of region>`."""
    for vpc in emulator.state()["vpcs"].values():
        text = text.replace(vpc["id"].replace("-", "_"), f"<{vpc['name']}>")
    return text


def test_graph_matches_golden_file(emulator, inventory, fleet, do_client):
    create(do_client, ["scratch"], "nyc3")  # a second "scratch": both become scratch-<id>
    run = inventory(PLUGIN, "--graph")
    assert run.rc == 0, run.stderr
    golden = GOLDEN / "graph.txt"
    actual = normalized_graph(run.stdout, emulator)
    assert re.search(r"\[WARNING\]: 2 droplets are named 'scratch' \(ids \d+, \d+\)", run.stderr)
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(actual)
    assert actual == golden.read_text(), f"--graph output changed; if intended, rerun with UPDATE_GOLDEN=1:\n{actual}"


def test_project_filter_by_name_and_id(emulator, inventory, fleet):
    freshtrack = ["freshtrack-production-web-1", "freshtrack-production-web-2", "freshtrack-production-worker-1"]
    project_id = fleet["project"]["id"]
    mark = emulator.mark()
    by_name = inventory({**PLUGIN, "project": ["FreshTrack Pro"]})
    assert by_name.rc == 0, by_name.stderr
    assert sorted(by_name.hostvars) == freshtrack
    assert {h["do_project"] for h in by_name.hostvars.values()} == {"FreshTrack Pro"}
    assert api_calls(emulator, mark) == [
        "GET /v2/projects?per_page=200&page=1",
        f"GET /v2/projects/{project_id}/resources?per_page=200&page=1",
        LIST_DROPLETS,
    ]

    mark = emulator.mark()
    by_id = inventory({**PLUGIN, "project": [project_id]})
    assert by_id.rc == 0 and sorted(by_id.hostvars) == freshtrack
    assert api_calls(emulator, mark) == [f"GET /v2/projects/{project_id}/resources?per_page=200&page=1", LIST_DROPLETS]

    empty = inventory({**PLUGIN, "project": ["Malar"]})
    assert empty.rc == 0 and empty.hostvars == {}

    unknown = inventory({**PLUGIN, "project": ["Nope"]})
    assert unknown.rc != 0
    assert (
        "seaworthy.digitalocean.droplets: project 'Nope' not found (projects: Default, FreshTrack Pro, Malar)"
        in unknown.stderr
    )


def test_server_and_client_side_filters(emulator, inventory, fleet):
    mark = emulator.mark()
    web = inventory({**PLUGIN, "tag_name": "role:web"})
    assert web.rc == 0, web.stderr
    assert sorted(web.hostvars) == ["freshtrack-production-web-1", "freshtrack-production-web-2", "malar-staging-web-1"]
    assert api_calls(emulator, mark) == ["GET /v2/droplets?tag_name=role:web&per_page=200&page=1"]

    named = inventory({**PLUGIN, "name": "scratch"})
    assert named.rc == 0 and list(named.hostvars) == ["scratch"]

    filtered = inventory(
        {**PLUGIN, "filters": ["do_region != 'nyc3'", "'role:web' in do_tags", "ansible_host is defined"]}
    )
    assert filtered.rc == 0 and list(filtered.hostvars) == ["malar-staging-web-1"]
    assert "tag_monitoring" not in filtered.listing, "filtered-out droplets leave no groups behind"

    broken = {**PLUGIN, "filters": ["do_no_such_var == 1"]}
    lenient = inventory(broken)
    assert lenient.rc == 0 and lenient.hostvars == {}, "a filter that cannot be evaluated excludes"
    strict = inventory({**broken, "strict": True})
    assert strict.rc != 0 and "filter 'do_no_such_var == 1' failed for droplet" in strict.stderr

    mark = emulator.mark()
    both = inventory({**PLUGIN, "tag_name": "role:web", "name": "scratch"})
    assert both.rc != 0 and "tag_name and name cannot be combined" in both.stderr
    assert api_calls(emulator, mark) == []


def test_cache_second_run_makes_no_call(emulator, inventory, fleet, do_client, tmp_path):
    config = {
        **PLUGIN,
        "cache": True,
        "cache_plugin": "ansible.builtin.jsonfile",
        "cache_connection": str(tmp_path / "cache"),
        "cache_timeout": 3600,
    }
    mark = emulator.mark()
    first = inventory(config)
    assert first.rc == 0, first.stderr
    assert api_calls(emulator, mark) == [LIST_DROPLETS]

    create(do_client, ["late"], "nyc3")
    mark = emulator.mark()
    second = inventory(config)
    assert second.rc == 0, second.stderr
    assert api_calls(emulator, mark) == [], "a warm cache answers without the API"
    assert second.listing == first.listing

    mark = emulator.mark()
    flushed = inventory(config, "--list", "--flush-cache")
    assert api_calls(emulator, mark) == [LIST_DROPLETS]
    assert "late" in flushed.hostvars

    mark = emulator.mark()
    other_question = inventory({**config, "tag_name": "role:web"})
    assert other_question.rc == 0 and "scratch" not in other_question.hostvars
    assert len(api_calls(emulator, mark)) == 1, "another filter is another cache entry"


def test_name_collisions_and_hostname_template(emulator, inventory, do_client):
    nyc = create(do_client, ["web", "web"], "nyc3", tags=["role:web"])
    (fra,) = create(do_client, ["web"], "fra1", tags=["role:web"])
    create(do_client, ["db"], "nyc3")
    run = inventory(PLUGIN)
    assert run.rc == 0
    hosts = sorted(run.hostvars)
    assert hosts == sorted(["db", *(f"web-{i}" for i in [*nyc, fra])])
    assert run.hostvars[f"web-{fra}"]["do_region"] == "fra1"
    assert sorted(run.groups()["role_web"]) == sorted(f"web-{i}" for i in [*nyc, fra])
    warning = f"3 droplets are named 'web' (ids {', '.join(str(i) for i in sorted([*nyc, fra]))})"
    assert warning in " ".join(run.stderr.split())

    templated = inventory({**PLUGIN, "hostname_template": "{{ do_name }}.{{ do_region }}"})
    assert templated.rc == 0
    assert sorted(templated.hostvars) == sorted(["db.nyc3", "web.fra1", *(f"web.nyc3-{i}" for i in nyc)])
    assert "2 droplets are named 'web.nyc3'" in templated.stderr


def test_host_address_choices(emulator, inventory, do_client):
    (v6,) = create(do_client, ["v6"], "nyc3", ipv6=True)
    (v4,) = create(do_client, ["v4"], "nyc3")
    droplets = {d["id"]: d for d in emulator.state()["droplets"].values()}

    def address(droplet_id, family, kind):
        return next(n["ip_address"] for n in droplets[droplet_id]["networks"][family] if n["type"] == kind)

    private = inventory({**PLUGIN, "host_address": "private_ipv4"})
    assert private.hostvars["v4"]["ansible_host"] == address(v4, "v4", "private")
    ipv6 = inventory({**PLUGIN, "host_address": "public_ipv6"})
    assert ipv6.hostvars["v6"]["ansible_host"] == address(v6, "v6", "public")
    assert "ansible_host" not in ipv6.hostvars["v4"]
    assert "no ansible_host for v4: no public_ipv6 address (yet)" in " ".join(ipv6.stderr.split())
    by_name = inventory({**PLUGIN, "host_address": "name"})
    assert by_name.hostvars["v4"]["ansible_host"] == "v4"


def documented_default(option):
    source = (REPO / "plugins/inventory/droplets.py").read_text()
    doc = next(
        node.value.value
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and node.targets[0].id == "DOCUMENTATION"
    )
    return yaml.safe_load(doc)["options"][option]["default"]


def test_constructed_options_prefix_and_attributes(emulator, inventory, fleet):
    default = inventory(PLUGIN)
    explicit = inventory({**PLUGIN, "keyed_groups": documented_default("keyed_groups")})
    assert explicit.rc == 0, explicit.stderr
    assert explicit.groups() == default.groups(), "the native default groups equal the documented keyed_groups"

    run = inventory(
        {
            **PLUGIN,
            "var_prefix": "dov_",
            "attributes": ["id", "name"],
            "compose": {"ansible_user": "'deploy'", "web_port": "8080 if 'role:web' in dov_tags else None"},
            "groups": {"frankfurt": "dov_region == 'fra1'", "small": "dov_size == 's-1vcpu-1gb'"},
        }
    )
    assert run.rc == 0, run.stderr
    host = run.hostvars["malar-staging-web-1"]
    assert set(host) == {"ansible_host", "ansible_user", "web_port", "dov_id", "dov_name"}
    assert host["web_port"] == 8080 and host["ansible_user"] == "deploy"
    groups = run.groups()
    assert groups["frankfurt"] == ["malar-staging-web-1"]
    assert "scratch" in groups["small"]
    assert groups["role_web"] == default.groups()["role_web"], "default groups follow var_prefix"

    custom = inventory({**PLUGIN, "keyed_groups": [{"key": "do_status", "prefix": "status"}]})
    assert set(custom.groups()) == {"status_active"}, "keyed_groups replaces the defaults"


def test_pagination_is_ceil_n_over_200(emulator, inventory, do_client):
    for batch in range(21):
        create(do_client, [f"n-{batch}-{i}" for i in range(10)], "nyc3")
    mark = emulator.mark()
    run = inventory({**PLUGIN, "attributes": ["id"]})
    assert run.rc == 0 and len(run.hostvars) == 210
    assert api_calls(emulator, mark) == [LIST_DROPLETS, LIST_DROPLETS.replace("page=1", "page=2")]


def test_bad_token_unreachable_api_and_missing_pydo(emulator, inventory, fleet, tmp_path):
    bad = inventory({**PLUGIN, "token": "not-a-valid-token"})
    assert bad.rc != 0
    assert (
        "seaworthy.digitalocean.droplets: DigitalOcean refused the API token (HTTP 401 Unauthorized: Unable to authenticate you)"
        in bad.stderr
    )
    assert "Traceback" not in bad.stderr

    unreachable = inventory({**PLUGIN, "api_url": "http://127.0.0.1:9", "retry_max_time": 1})
    assert unreachable.rc != 0
    assert "cannot reach the DigitalOcean API at http://127.0.0.1:9:" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr

    shim = tmp_path / "no-pydo"
    (shim / "pydo").mkdir(parents=True)
    (shim / "pydo" / "__init__.py").write_text("raise ImportError('No module named pydo')\n")
    missing = inventory(PLUGIN, extra_env={"PYTHONPATH": str(shim)})
    assert missing.rc != 0
    assert "the Python library pydo is missing on the controller" in missing.stderr
    assert "Traceback" not in missing.stderr

    no_token = inventory(PLUGIN, extra_env={"DIGITALOCEAN_TOKEN": ""})
    assert no_token.rc != 0 and "no DigitalOcean API token" in no_token.stderr


@pytest.mark.parametrize("example", sorted(p.name for p in (REPO / "inventories/examples").glob("*.yml")))
def test_example_configurations_work(inventory, fleet, example, tmp_path):
    config = yaml.safe_load((REPO / "inventories/examples" / example).read_text())
    if config.get("cache"):
        config["cache_connection"] = str(tmp_path / "cache")
    run = inventory(config, filename=example)
    assert run.rc == 0, run.stderr
    assert run.hostvars, f"{example} found no droplets"
    if example == "freshtrack-production.droplets.yml":
        assert run.groups()["app"] == sorted(n for n in FLEET if n.startswith("freshtrack"))
        assert all(h["ansible_host"].startswith("10.") for h in run.hostvars.values()), "private addresses"


def test_token_sources_and_option_validation(emulator, inventory, do_client):
    create(do_client, ["one"], "nyc3")
    templated = inventory(
        {**PLUGIN, "token": "{{ lookup('ansible.builtin.env', 'MY_DO_TOKEN') }}"},
        extra_env={"MY_DO_TOKEN": emulator.token, "DIGITALOCEAN_TOKEN": "wrong"},
    )
    assert templated.rc == 0 and list(templated.hostvars) == ["one"], templated.stderr
    preferred = inventory(PLUGIN, extra_env={"DO_API_TOKEN": "wrong", "DIGITALOCEAN_ACCESS_TOKEN": "wrong"})
    assert preferred.rc == 0, "DIGITALOCEAN_TOKEN wins over the other variables, as for the modules"

    bogus = inventory({**PLUGIN, "attributes": ["id", "bogus"]})
    assert bogus.rc != 0 and "bogus" in bogus.stderr
