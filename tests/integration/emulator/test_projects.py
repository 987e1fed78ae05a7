"""Projects: the default project, updates, moving resources between projects, guarded deletes."""

from __future__ import annotations

import pytest

from .networking import api, droplet, refused


def test_default_project_exists_from_the_start(emulator, do_client):
    (project,) = do_client.projects.list()["projects"]
    assert project["is_default"] is True and project["name"] == "Default"
    assert project["environment"] == "Development" and project["owner_uuid"]
    assert do_client.projects.get_default()["project"] == project
    assert do_client.projects.get(project["id"])["project"] == project
    assert do_client.projects.list_resources_default()["resources"] == []


def test_project_lifecycle(emulator, do_client):
    default = do_client.projects.get_default()["project"]
    created = do_client.projects.create(
        {"name": "web-api", "purpose": "Service or API", "description": "the API", "environment": "Production"}
    )["project"]
    assert created["is_default"] is False and created["environment"] == "Production"
    assert created["created_at"] == created["updated_at"]
    custom = do_client.projects.create({"name": "lab", "purpose": "tinkering"})["project"]
    assert custom["purpose"] == "Other: tinkering" and custom["description"] == ""

    page = do_client.projects.list(per_page=2)
    assert page["meta"]["total"] == 3 and len(page["projects"]) == 2 and "next" in page["links"]["pages"]

    patched = do_client.projects.patch(custom["id"], {"name": "laboratory", "environment": "Staging"})["project"]
    assert patched["name"] == "laboratory" and patched["environment"] == "Staging"
    assert patched["purpose"] == "Other: tinkering", "PATCH leaves what it does not name"
    put = do_client.projects.update(
        custom["id"],
        {
            "name": "lab",
            "description": "experiments",
            "purpose": "IoT",
            "environment": "Development",
            "is_default": False,
        },
    )["project"]
    assert (put["name"], put["description"], put["purpose"]) == ("lab", "experiments", "IoT")

    # The default moves to another project; it cannot be unset.
    moved = do_client.projects.patch(created["id"], {"is_default": True})["project"]
    assert moved["is_default"] is True
    assert do_client.projects.get(default["id"])["project"]["is_default"] is False
    assert do_client.projects.get_default()["project"]["id"] == created["id"]
    error = refused(do_client.projects.patch_default, {"is_default": False})
    assert error["status"] == 422 and "cannot be unset" in error["message"]
    renamed = do_client.projects.patch_default({"description": "now the default"})["project"]
    assert renamed["id"] == created["id"] and renamed["description"] == "now the default"
    full = do_client.projects.update_default(
        {
            "name": "web-api",
            "description": "",
            "purpose": "Web Application",
            "environment": "Production",
            "is_default": True,
        }
    )["project"]
    assert full["purpose"] == "Web Application"

    error = refused(do_client.projects.delete, created["id"])
    assert error["status"] == 422 and "default" in error["message"]
    assert do_client.projects.delete(default["id"]) is None
    assert refused(do_client.projects.get, default["id"])["id"] == "not_found"
    assert do_client.projects.list()["meta"]["total"] == 2


def test_resources_belong_to_exactly_one_project(emulator, do_client):
    web = droplet(do_client, "web-1")
    do_client.domains.create({"name": "example.com"})
    reserved = do_client.reserved_ips.create({"region": "nyc3"})["reserved_ip"]["ip"]
    project = do_client.projects.create({"name": "shop", "purpose": "Website or blog"})["project"]

    default_urns = [r["urn"] for r in do_client.projects.list_resources_default()["resources"]]
    assert set(default_urns) == {f"do:droplet:{web['id']}", "do:domain:example.com", f"do:floatingip:{reserved}"}

    assigned = do_client.projects.assign_resources(
        project["id"], {"resources": [f"do:droplet:{web['id']}", "do:domain:example.com"]}
    )["resources"]
    assert {r["urn"] for r in assigned} == {f"do:droplet:{web['id']}", "do:domain:example.com"}
    entry = next(r for r in assigned if r["urn"] == "do:domain:example.com")
    assert entry["status"] == "ok" and entry["links"]["self"].endswith("/v2/domains/example.com")
    assert entry["assigned_at"]

    listed = do_client.projects.list_resources(project["id"])
    assert listed["meta"]["total"] == 2
    default_urns = [r["urn"] for r in do_client.projects.list_resources_default()["resources"]]
    assert default_urns == [f"do:floatingip:{reserved}"], "assigned resources left the default project"

    # Assigning again changes nothing; assigning to the default moves it back.
    again = do_client.projects.assign_resources(project["id"], {"resources": ["do:domain:example.com"]})
    assert again["resources"] == do_client.projects.list_resources(project["id"])["resources"]
    do_client.projects.assign_resources_default({"resources": ["do:domain:example.com"]})
    assert [r["urn"] for r in do_client.projects.list_resources(project["id"])["resources"]] == [
        f"do:droplet:{web['id']}"
    ]

    # Only an empty project can be deleted (412, as documented).
    error = refused(do_client.projects.delete, project["id"])
    assert error["id"] == "precondition_failed" and "resources" in error["message"]
    do_client.droplets.destroy(web["id"])
    assert do_client.projects.list_resources(project["id"])["resources"] == [], "a destroyed droplet leaves"
    assert do_client.projects.delete(project["id"]) is None


def test_unknown_resources_are_refused_and_nothing_moves(emulator, do_client):
    do_client.domains.create({"name": "example.com"})
    project = do_client.projects.create({"name": "shop", "purpose": "Website or blog"})["project"]
    error = refused(
        do_client.projects.assign_resources, project["id"], {"resources": ["do:domain:example.com", "do:droplet:999"]}
    )
    assert error["id"] == "not_found" and "do:droplet:999" in error["message"]
    assert do_client.projects.list_resources(project["id"])["resources"] == [], "all or nothing"

    error = refused(do_client.projects.assign_resources, project["id"], {"resources": ["do:vpc:abc"]})
    assert error["status"] == 422 and "vpc" in error["message"]
    missing = "4e1bfbc3-dc3e-41f2-a18f-1b4d7ba71679"
    assert refused(do_client.projects.get, missing)["id"] == "not_found"
    assert refused(do_client.projects.list_resources, missing)["id"] == "not_found"
    assert refused(do_client.projects.assign_resources, missing, {"resources": []})["id"] == "not_found"

    error = refused(do_client.projects.create, {"name": "shop", "purpose": "IoT"})
    assert error["status"] == 422 and "already exists" in error["message"]
    assert do_client.projects.list()["meta"]["total"] == 2


@pytest.mark.spec_violations_expected
def test_off_spec_project_requests_are_refused(emulator, do_client):
    assert api(emulator, "POST", "/v2/projects", json={"name": "no-purpose"}).status_code == 422
    response = api(emulator, "POST", "/v2/projects", json={"name": "env", "purpose": "IoT", "environment": "Prod"})
    assert response.status_code == 422
    project = do_client.projects.get_default()["project"]
    response = api(emulator, "POST", f"/v2/projects/{project['id']}/resources", json={"resources": ["droplet:1"]})
    assert response.status_code == 422
    assert do_client.projects.list()["meta"]["total"] == 1
