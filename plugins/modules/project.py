#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: project
short_description: Manage DigitalOcean projects and the resources assigned to them
version_added: 0.1.0
description:
  - Makes a project exist with the declared description, purpose and environment, optionally
    as the account's default project, and makes the listed resources belong to it.
  - Identity is O(id) when given (O(name) then renames it), else O(name) over every page of the
    account's projects; two projects of that name fail the task with their ids.
  - Resources are given as URNs (V(do:droplet:123)) or by type and name, resolved to URNs. A
    resource belongs to exactly one project, so assigning it here moves it from its current
    project. Only the missing ones are assigned.
  - Deleting a project that still has resources fails, listing them, unless
    O(move_resources_to_default=true) moves them to the default project first.
options:
  state:
    description: Whether the project should exist.
    type: str
    choices: [present, absent]
    default: present
  id:
    description: The project's id (UUID); identity then ignores O(name).
    type: str
  name:
    description: The project's name (up to 175 characters). Required unless O(id) is given.
    type: str
  description:
    description: What the project is for (up to 255 characters).
    type: str
  purpose:
    description:
      - "One of DigitalOcean's purposes (V(Web Application), V(Service or API), V(Website or blog),
        V(Mobile Application), V(Operational / Developer tooling), ...). Another text is stored by
        DigitalOcean as V(Other: <text>) and compared that way."
      - Required to create a project.
    type: str
  environment:
    description: The environment of the project's resources.
    type: str
    choices: [Development, Staging, Production]
  is_default:
    description:
      - V(true) makes this the default project (new resources land in it when no project is given).
      - V(false) on the default project fails; make another project the default instead.
    type: bool
  resources:
    description:
      - Resources that belong to the project. Each is either a URN string
        (V(do:droplet:123), V(do:domain:example.com), V(do:floatingip:203.0.113.7), ...) or a
        dictionary with C(type) (V(droplet), V(volume), V(load_balancer), V(database),
        V(domain), V(reserved_ip), V(space)) and C(name) (the IP for a reserved IP, the bucket
        for a space) or C(id), plus C(region) to tell apart droplets, volumes, load balancers
        or databases of the same name.
    type: list
    elements: raw
  purge_resources:
    description:
      - Move resources of the project that O(resources) does not list to the default project
        (only when O(resources) is given; not possible for the default project itself).
    type: bool
    default: false
  move_resources_to_default:
    description:
      - With O(state=absent), move the project's resources to the default project so it can be
        deleted. Otherwise deleting a project that has resources fails.
    type: bool
    default: false
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The application's project with its resources
  seaworthy.digitalocean.project:
    name: FreshTrack Pro
    description: FreshTrack production stack
    purpose: Web Application
    environment: Production
    resources:
      - {type: droplet, name: freshtrack-production-web-1, region: nyc3}
      - {type: domain, name: freshtrack.example.com}
      - {type: reserved_ip, name: 203.0.113.7}
      - do:volume:506f78a4-e098-11e5-ad9f-000f53306ae1
  register: project

- name: Retire a project, its remaining resources going back to the default project
  seaworthy.digitalocean.project:
    name: FreshTrack Staging
    state: absent
    move_resources_to_default: true
"""

RETURN = r"""
project:
  description: The project as the API returns it (empty when absent).
  returned: always
  type: dict
  sample:
    id: 4e1bfbc3-dc3e-41f2-a18f-1b4d7ba71679
    owner_uuid: 99525febec065ca37b2ffe4f852fd2b2581895e7
    owner_id: 258992
    name: FreshTrack Pro
    description: FreshTrack production stack
    purpose: Web Application
    environment: Production
    is_default: false
    created_at: "2025-09-27T20:10:35Z"
    updated_at: "2025-09-27T20:10:35Z"
resources:
  description: The project's resources as the API lists them (C(urn), C(assigned_at), C(links), C(status)).
  returned: always
  type: list
  elements: dict
  sample:
    - urn: do:droplet:13457723
      assigned_at: "2025-09-28T19:26:37Z"
      links:
        self: https://api.digitalocean.com/v2/droplets/13457723
      status: ok
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._networking import list_filtered

PURPOSES = (
    "Just trying out DigitalOcean",
    "Class project / Educational purposes",
    "Website or blog",
    "Web Application",
    "Service or API",
    "Mobile Application",
    "Machine learning / AI / Data processing",
    "IoT",
    "Operational / Developer tooling",
)
URN_RE = re.compile(r"^do:(dbaas|domain|droplet|floatingip|loadbalancer|space|volume|kubernetes|vpc):.+$")
# friendly type -> URN kind
KINDS = {
    "droplet": "droplet",
    "volume": "volume",
    "load_balancer": "loadbalancer",
    "database": "dbaas",
    "domain": "domain",
    "reserved_ip": "floatingip",
    "space": "space",
}
REF_KEYS = {"type", "name", "id", "region"}


def stored_purpose(purpose):
    """The purpose as DigitalOcean stores it: an unlisted one becomes `Other: <text>`."""
    if purpose is None or purpose in PURPOSES or purpose.startswith("Other: "):
        return purpose
    return f"Other: {purpose}"


def view(project, urns=None):
    """What --diff shows of a project (its resources when they are managed)."""
    if not project:
        return {}
    shown = {
        "name": project.get("name"),
        "description": project.get("description") or "",
        "purpose": project.get("purpose"),
        "environment": project.get("environment"),
        "is_default": bool(project.get("is_default")),
    }
    if urns is not None:
        shown["resources"] = sorted(urns)
    return shown


class ProjectModule(DOModule):
    resource_key = "project"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "id": {"type": "str"},
                "name": {"type": "str"},
                "description": {"type": "str"},
                "purpose": {"type": "str"},
                "environment": {"type": "str", "choices": ["Development", "Staging", "Production"]},
                "is_default": {"type": "bool"},
                "resources": {"type": "list", "elements": "raw"},
                "purge_resources": {"type": "bool", "default": False},
                "move_resources_to_default": {"type": "bool", "default": False},
            },
            required_one_of=[("id", "name")],
        )
        self._lists = {}

    # -- input -------------------------------------------------------------------------
    def validate(self):
        for field, limit in (("name", 175), ("description", 255), ("purpose", 255)):
            value = self.params[field]
            if value is not None and len(value) > limit:
                self.module.fail_json(msg=f"project {field} is {len(value)} characters, at most {limit}")
        if self.params["name"] is not None and not self.params["name"].strip():
            self.module.fail_json(msg="project name must not be empty")
        if self.params["purpose"] is not None and not self.params["purpose"].strip():
            self.module.fail_json(msg="project purpose must not be empty")

    def listed(self, operation, key, **params):
        if (operation, tuple(sorted(params.items()))) not in self._lists:
            if operation == "databases.list_clusters":  # not paginated
                items = self.client.request(operation).get(key) or []
            else:
                items = list_filtered(self.client, operation, key, **params)
            self._lists[(operation, tuple(sorted(params.items())))] = items
        return self._lists[(operation, tuple(sorted(params.items())))]

    def resolve(self, ref):
        """The URN of one `resources` entry; fail clearly when it names nothing (or several things)."""
        if isinstance(ref, str):
            text = ref.strip()
            if not URN_RE.match(text):
                self.module.fail_json(
                    msg=(
                        f"resources: {ref!r} is not a URN (do:<type>:<id>, type one of dbaas, domain, droplet, "
                        "floatingip, loadbalancer, space, volume, kubernetes, vpc) nor a {type, name} dictionary"
                    )
                )
            return text
        if not isinstance(ref, dict):
            self.module.fail_json(msg=f"resources: {ref!r} is neither a URN string nor a {{type, name}} dictionary")
        unknown = set(ref) - REF_KEYS
        kind = ref.get("type")
        if unknown or kind not in KINDS:
            self.module.fail_json(
                msg=(
                    f"resources: {ref!r} needs type (one of {', '.join(KINDS)}) and name or id"
                    + (f"; unknown keys {', '.join(sorted(unknown))}" if unknown else "")
                )
            )
        name, rid, region = ref.get("name"), ref.get("id"), ref.get("region")
        if name is None and rid is None:
            self.module.fail_json(msg=f"resources: {ref!r} needs name or id")
        prefix = f"do:{KINDS[kind]}:"
        if rid is not None:
            return prefix + str(rid)
        name = str(name)
        if kind == "domain":
            name = name.lower().rstrip(".")
            if self.client.fetch("domains.get", name) is None:
                self.module.fail_json(msg=f"resources: no domain {name!r} in the account")
            return prefix + name
        if kind == "reserved_ip":
            if self.client.fetch("reserved_ips.get", name) is None:
                self.module.fail_json(msg=f"resources: no reserved IP {name} in the account")
            return prefix + name
        if kind == "space":
            return prefix + name  # buckets live in the Spaces API; the assignment checks them
        if kind == "droplet":
            items = self.listed("droplets.list", "droplets", name=name)
        elif kind == "volume":
            items = self.listed("volumes.list", "volumes", name=name)
        elif kind == "load_balancer":
            items = self.listed("load_balancers.list", "load_balancers")
        else:
            items = self.listed("databases.list_clusters", "databases")
        found = self.unique(items, kind.replace("_", " "), name=name, region=region)
        if found is None:
            where = f" in region {region}" if region else ""
            self.module.fail_json(msg=f"resources: no {kind.replace('_', ' ')} named {name!r}{where}")
        return prefix + str(found["id"])

    def wanted_urns(self):
        if self.params["resources"] is None:
            return None
        return list(dict.fromkeys(self.resolve(ref) for ref in self.params["resources"]))

    # -- identity -------------------------------------------------------------------------
    def find(self, projects):
        if self.params["id"]:
            return next((p for p in projects if p["id"] == self.params["id"]), None)
        return self.unique(projects, "project", name=self.params["name"])

    def members(self, project):
        return self.client.list_all("projects.list_resources", "resources", project["id"])

    # -- main -------------------------------------------------------------------------------
    def run(self):
        self.validate()
        projects = self.client.list_all("projects.list", "projects")
        current = self.find(projects)
        if self.params["state"] == "absent":
            return self.delete(current)
        wanted = self.wanted_urns()
        if current is None:
            if self.params["id"]:
                self.module.fail_json(msg=f"project id {self.params['id']} does not exist")
            return self.create(wanted)
        return self.update(current, wanted)

    def create(self, wanted):
        name = self.params["name"]
        if not self.params["purpose"]:
            self.module.fail_json(msg=f"creating project {name!r} needs purpose (e.g. Web Application)")
        if self.params["purge_resources"] and wanted is not None and self.params["is_default"]:
            self.fail_purge_default(name)
        body = {"name": name, "purpose": self.params["purpose"]}
        for field in ("description", "environment"):
            if self.params[field] is not None:
                body[field] = self.params[field]
        planned = dict(
            body, purpose=stored_purpose(body["purpose"]), is_default=bool(self.params["is_default"]), id=None
        )
        self.diff(None, view(planned, wanted))
        if self.check_mode:
            return self.exit(planned, resources=[{"urn": u} for u in wanted or []])
        created = self.create_once(
            lambda: self.client.request("projects.create", body, idempotent=False)["project"],
            lambda: self.unique(self.client.list_all("projects.list", "projects"), "project", name=name),
            f"project {name!r}",
        )
        if self.params["is_default"]:
            created = self.client.request("projects.patch", created["id"], {"is_default": True})["project"]
        if wanted:
            self.client.request("projects.assign_resources", created["id"], {"resources": wanted})
        return self.exit(created, resources=self.members(created))

    def fail_purge_default(self, name):
        self.module.fail_json(
            msg=f"project {name!r} is the default project: purge_resources cannot move resources out of it"
        )

    def update(self, project, wanted):
        label = f"project {project['name']!r} ({project['id']})"
        patch = {}
        if self.params["id"] and self.params["name"] and self.params["name"] != project["name"]:
            patch["name"] = self.params["name"]
        if self.params["description"] is not None and self.params["description"] != (project.get("description") or ""):
            patch["description"] = self.params["description"]
        purpose = self.params["purpose"]
        if purpose is not None and stored_purpose(purpose) != project.get("purpose"):
            patch["purpose"] = purpose
        if self.params["environment"] is not None and self.params["environment"] != project.get("environment"):
            patch["environment"] = self.params["environment"]
        if self.params["is_default"] is False and project.get("is_default"):
            self.module.fail_json(
                msg=f"{label} is the default project and cannot be unset; make another project the default instead"
            )
        if self.params["is_default"] and not project.get("is_default"):
            patch["is_default"] = True
        purge = self.params["purge_resources"] and wanted is not None
        if purge and (project.get("is_default") or self.params["is_default"]):
            self.fail_purge_default(project["name"])

        members = self.members(project)
        current_urns = [m["urn"] for m in members]
        add = [u for u in wanted or [] if u not in current_urns]
        extra = [u for u in current_urns if u not in wanted] if purge else []
        after_urns = [u for u in current_urns if u not in extra] + add
        after = dict(project, **patch)
        if "purpose" in patch:
            after["purpose"] = stored_purpose(patch["purpose"])
        managed = wanted is not None
        self.diff(view(project, current_urns if managed else None), view(after, after_urns if managed else None))
        if self.check_mode or not (patch or add or extra):
            shown = members if not (add or extra) else [{"urn": u} for u in after_urns]
            return self.exit(after, resources=shown)
        if patch:
            after = self.client.request("projects.patch", project["id"], patch)["project"]
        if add:
            self.client.request("projects.assign_resources", project["id"], {"resources": add})
        if extra:
            self.client.request("projects.assign_resources_default", {"resources": extra})
        if add or extra:
            members = self.members(project)
        return self.exit(after, resources=members)

    def delete(self, project):
        if project is None:
            self.diff(None, None)
            return self.exit({}, resources=[])
        label = f"project {project['name']!r} ({project['id']})"
        if project.get("is_default"):
            self.module.fail_json(
                msg=f"{label} is the default project and cannot be deleted; make another project the default first"
            )
        urns = [m["urn"] for m in self.members(project)]
        if urns and not self.params["move_resources_to_default"]:
            self.module.fail_json(
                msg=(
                    f"{label} still has {len(urns)} resource(s): {', '.join(urns)}. Move or delete them, "
                    "or set move_resources_to_default: true"
                )
            )
        self.diff(view(project, urns), None)
        if not self.check_mode:
            if urns:
                self.client.request("projects.assign_resources_default", {"resources": urns})
            self.client.request("projects.delete", project["id"])
        return self.exit({}, resources=[])


def main():
    ProjectModule().execute()


if __name__ == "__main__":
    main()
