#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpc
short_description: Create, update and delete DigitalOcean VPC networks
version_added: 0.1.0
description:
  - Makes a VPC network exist in a region with the declared description, and optionally
    makes it the region's default VPC.
  - Identity is O(id) when given, else O(name) in O(region) over every page of the account's
    VPCs. VPC names are unique in the account, so a VPC of that name in another region fails
    the task naming its region. Two matches fail the task with their ids.
  - O(ip_range) is only used at creation; an existing VPC with another range fails the task
    (DigitalOcean cannot change it). O(description) and O(default) are updated in place; with
    O(id), O(name) renames the VPC.
  - Deleting a VPC that still has members (droplets, load balancers, database clusters) fails
    with the API's message and the members' names. The default VPC of a region cannot be deleted.
options:
  state:
    description: Whether the VPC should exist.
    type: str
    choices: [present, absent]
    default: present
  id:
    description: The VPC's id (UUID); identity then ignores O(name) and O(region).
    type: str
  name:
    description:
      - The VPC's name (letters, digits, dashes and dots). Required unless O(id) is given.
    type: str
  region:
    description: Region slug (V(nyc3)); needed to create.
    type: str
  ip_range:
    description:
      - Private range in CIDR notation (RFC 1918, between V(/16) and V(/28)), only used at creation.
      - When omitted DigitalOcean picks a free V(/20).
    type: str
  description:
    description: Free text (up to 255 characters), updated in place.
    type: str
  default:
    description:
      - V(true) makes this VPC the default of its region (the previous default stops being it).
      - V(false) on the region's default VPC fails, as DigitalOcean cannot unset a default;
        make another VPC the default instead.
    type: bool
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The environment's private network
  seaworthy.digitalocean.vpc:
    name: freshtrack-production-vpc
    region: nyc3
    ip_range: 10.20.0.0/20
    description: FreshTrack production
    default: true
  register: vpc

- name: Remove a staging network (fails while droplets are still in it)
  seaworthy.digitalocean.vpc:
    name: freshtrack-staging-vpc
    region: nyc3
    state: absent
"""

RETURN = r"""
vpc:
  description: The VPC as the API returns it (empty when absent).
  returned: always
  type: dict
  sample:
    id: 5a4981aa-9653-4bd1-bef5-d6bff52042e4
    urn: do:vpc:5a4981aa-9653-4bd1-bef5-d6bff52042e4
    name: freshtrack-production-vpc
    description: FreshTrack production
    region: nyc3
    ip_range: 10.20.0.0/20
    default: true
    created_at: "2025-03-13T19:20:47Z"
"""

import ipaddress
import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule, region_matches
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._client import DOApiError

NAME_RE = re.compile(r"^[a-zA-Z0-9\-.]+$")
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def view(vpc):
    """What --diff shows of a VPC."""
    if not vpc:
        return {}
    return {
        "name": vpc.get("name"),
        "region": vpc.get("region"),
        "ip_range": vpc.get("ip_range"),
        "description": vpc.get("description") or "",
        "default": bool(vpc.get("default")),
    }


class VpcModule(DOModule):
    resource_key = "vpc"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "id": {"type": "str"},
                "name": {"type": "str"},
                "region": {"type": "str"},
                "ip_range": {"type": "str"},
                "description": {"type": "str"},
                "default": {"type": "bool"},
            },
            required_one_of=[("id", "name")],
        )

    # -- input ----------------------------------------------------------------
    def validate(self):
        name, description = self.params["name"], self.params["description"]
        if name is not None and not NAME_RE.match(name):
            self.module.fail_json(
                msg=f"VPC name {name!r} is invalid: use only letters, digits, dashes and dots (e.g. web-prod.vpc)"
            )
        if description is not None and len(description) > 255:
            self.module.fail_json(msg=f"VPC {name!r}: description is {len(description)} characters, at most 255")
        return self.wanted_range()

    def wanted_range(self):
        text = self.params["ip_range"]
        if not text:
            return None
        try:
            network = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            self.module.fail_json(
                msg=f"ip_range {text!r} is not a network in CIDR notation (e.g. 10.10.10.0/24): {exc}"
            )
        if network.version != 4 or not any(network.subnet_of(p) for p in PRIVATE):
            self.module.fail_json(
                msg=f"ip_range {network} must lie in RFC 1918 private space (10/8, 172.16/12, 192.168/16)"
            )
        if not 16 <= network.prefixlen <= 28:
            self.module.fail_json(msg=f"ip_range {network} must be between /16 and /28")
        return str(network)

    # -- identity -------------------------------------------------------------
    def find(self, vpcs):
        if self.params["id"]:
            return next((v for v in vpcs if v["id"] == self.params["id"]), None)
        name, region = self.params["name"], self.params["region"]
        found = self.unique(vpcs, "VPC", name=name, region=region)
        if found is None and region:
            elsewhere = [v for v in vpcs if v["name"] == name and not region_matches(region, v["region"])]
            if elsewhere and self.params["state"] == "present":
                self.module.fail_json(
                    msg=(
                        f"VPC {name!r} exists in region {elsewhere[0]['region']} (id {elsewhere[0]['id']}), not in "
                        f"{region}; VPC names are unique in the account"
                    )
                )
        return found

    # -- main -------------------------------------------------------------------
    def run(self):
        ip_range = self.validate()
        vpcs = self.client.list_all("vpcs.list", "vpcs")
        current = self.find(vpcs)
        if self.params["state"] == "absent":
            return self.delete(current)
        if current is None:
            if self.params["id"]:
                self.module.fail_json(msg=f"VPC id {self.params['id']} does not exist")
            return self.create(ip_range)
        return self.update(current, ip_range)

    def create(self, ip_range):
        name, region = self.params["name"], self.params["region"]
        if not region:
            self.module.fail_json(msg=f"creating VPC {name!r} needs region")
        body = {"name": name, "region": region}
        if ip_range:
            body["ip_range"] = ip_range
        if self.params["description"] is not None:
            body["description"] = self.params["description"]
        planned = {
            "name": name,
            "region": region,
            "ip_range": ip_range or "(chosen by DigitalOcean)",
            "description": self.params["description"] or "",
            "default": bool(self.params["default"]),
        }
        self.diff(None, planned)
        if self.check_mode:
            return self.exit(planned)
        created = self.create_once(
            lambda: self.client.request("vpcs.create", body, idempotent=False)["vpc"],
            lambda: self.unique(self.client.list_all("vpcs.list", "vpcs"), "VPC", name=name, region=region),
            f"VPC {name!r} in {region}",
        )
        if self.params["default"] and not created.get("default"):
            created = self.client.request("vpcs.patch", created["id"], {"default": True})["vpc"]
        self._after = view(created)
        return self.exit(created)

    def update(self, vpc, ip_range):
        label = f"VPC {vpc['name']} ({vpc['id']})"
        problems = []
        if ip_range and ip_range != str(ipaddress.ip_network(vpc["ip_range"])):
            problems.append(f"ip_range {vpc['ip_range']} -> {ip_range}")
        if self.params["region"] and not region_matches(self.params["region"], vpc["region"]):
            problems.append(f"region {vpc['region']} -> {self.params['region']}")
        if problems:
            self.module.fail_json(
                msg=f"{label} cannot change in place: {'; '.join(problems)}. Create a new VPC and move its members."
            )
        if self.params["default"] is False and vpc.get("default"):
            self.module.fail_json(
                msg=f"{label} is the default VPC of {vpc['region']} and cannot be unset; make another VPC of the region the default"
            )
        patch = {}
        if self.params["id"] and self.params["name"] and self.params["name"] != vpc["name"]:
            patch["name"] = self.params["name"]
        if self.params["description"] is not None and self.params["description"] != (vpc.get("description") or ""):
            patch["description"] = self.params["description"]
        if self.params["default"] and not vpc.get("default"):
            patch["default"] = True
        after = dict(vpc, **patch)
        self.diff(view(vpc), view(after))
        if patch and not self.check_mode:
            after = self.client.request("vpcs.patch", vpc["id"], patch)["vpc"]
        return self.exit(after)

    def delete(self, vpc):
        self.diff(view(vpc), None)
        if vpc is None or self.check_mode:
            return self.exit({})
        try:
            self.client.request("vpcs.delete", vpc["id"])
        except DOApiError as err:
            detail = ""
            if err.status in (403, 409, 412, 422):
                members = self.client.list_all("vpcs.list_members", "members", vpc["id"])
                if members:
                    names = ", ".join(f"{m.get('name') or '?'} ({m['urn']})" for m in members)
                    detail = f"; its members: {names}"
            self.module.fail_json(
                msg=f"deleting VPC {vpc['name']} ({vpc['id']}) failed: {err.describe()}{detail}",
                failure=err.as_dict(),
            )
        return self.exit({})


def main():
    VpcModule().execute()


if __name__ == "__main__":
    main()
