#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: reserved_ip
short_description: Reserve, assign, unassign and release DigitalOcean reserved IPs
version_added: 0.1.0
description:
  - Makes a reserved IPv4 address exist in a region, assigned to a droplet or not, in a project.
  - "Identity: O(ip) when given (an address DigitalOcean allocated; one cannot be chosen). Else
    the reserved IP assigned to O(droplet) (one droplet holds at most one), which is how
    C(one reserved IP for droplet web-1) is written. Else, with only O(region), the one
    unassigned reserved IP of that region (in O(project) when given); several fail the task
    listing them (give O(ip))."
  - Assigning and unassigning are actions; the module waits for them (the API refuses a new
    action while one is in progress). An IP cannot move to another region.
  - V(absent) releases the address, unassigning it first.
options:
  state:
    description:
      - V(present) makes the IP exist, assigned to O(droplet) when given (an assigned IP is
        left assigned when O(droplet) is omitted).
      - V(unassigned) makes it exist assigned to no droplet.
      - V(absent) releases it.
    type: str
    choices: [present, unassigned, absent]
    default: present
  ip:
    description: The reserved IPv4 address to manage.
    type: str
  droplet:
    description:
      - The droplet the IP is (to be) assigned to, by numeric id or by name (with O(region) to
        tell apart droplets of the same name in several regions).
    type: str
  region:
    description:
      - Region slug of the IP. Needed to create an IP without O(droplet) (an IP created for a
        droplet is in the droplet's region).
    type: str
  project:
    description: Project (id or name) the IP belongs to.
    type: str
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.wait
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: One reserved IP for the web droplet
  seaworthy.digitalocean.reserved_ip:
    droplet: freshtrack-production-web-1
    region: nyc3
    project: FreshTrack Pro
  register: web_ip

- name: Move it to the replacement droplet
  seaworthy.digitalocean.reserved_ip:
    ip: "{{ web_ip.reserved_ip.ip }}"
    droplet: freshtrack-production-web-2
    region: nyc3

- name: An address kept in reserve in the region
  seaworthy.digitalocean.reserved_ip:
    region: nyc3
    state: unassigned

- name: Release it
  seaworthy.digitalocean.reserved_ip:
    ip: "{{ web_ip.reserved_ip.ip }}"
    state: absent
"""

RETURN = r"""
reserved_ip:
  description: The reserved IP as the API returns it (empty when absent or when nothing matches).
  returned: always
  type: dict
  sample:
    ip: 203.0.113.7
    region:
      slug: nyc3
      name: New York 3
    droplet:
      id: 3164444
      name: freshtrack-production-web-1
    locked: false
    project_id: 746c6152-2fa2-11ed-92d3-27aaa54e4988
"""

import ipaddress

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule, region_matches, region_slug
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._networking import list_filtered
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._resources import find_project


def droplet_id_of(reserved):
    return (reserved.get("droplet") or {}).get("id")


def view(reserved):
    """What --diff shows of a reserved IP."""
    if not reserved:
        return {}
    droplet = reserved.get("droplet") or {}
    return {
        "ip": reserved.get("ip"),
        "region": region_slug(reserved),
        "droplet": f"{droplet.get('name')} ({droplet.get('id')})" if droplet else None,
        "project_id": reserved.get("project_id"),
    }


class ReservedIpModule(DOModule):
    resource_key = "reserved_ip"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "unassigned", "absent"], "default": "present"},
                "ip": {"type": "str"},
                "droplet": {"type": "str"},
                "region": {"type": "str"},
                "project": {"type": "str"},
            },
            wait=True,
            required_one_of=[("ip", "droplet", "region")],
        )

    # -- references -------------------------------------------------------------------
    def wanted_ip(self):
        text = self.params["ip"]
        if not text:
            return None
        try:
            return str(ipaddress.IPv4Address(text.strip()))
        except ValueError:
            self.module.fail_json(msg=f"ip {text!r} is not an IPv4 address")
        return None

    def find_droplet(self):
        ref, region = self.params["droplet"], self.params["region"]
        if not ref:
            return None
        ref = ref.strip()
        if ref.isdigit():
            droplet = self.client.fetch("droplets.get", int(ref))
            if droplet is None:
                self.module.fail_json(msg=f"droplet id {ref} does not exist")
            return droplet["droplet"]
        droplets = list_filtered(self.client, "droplets.list", "droplets", name=ref)
        droplet = self.unique(droplets, "droplet", name=ref, region=region)
        if droplet is None:
            where = f" in region {region}" if region else ""
            self.module.fail_json(msg=f"no droplet named {ref!r}{where}")
        return droplet

    def find(self, ips, ip, droplet, project):
        if ip:
            return next((r for r in ips if r["ip"] == ip), None)
        if droplet:
            return next((r for r in ips if droplet_id_of(r) == droplet["id"]), None)
        region = self.params["region"]
        spare = [
            r
            for r in ips
            if droplet_id_of(r) is None
            and region_matches(region, region_slug(r) or "")
            and (project is None or r.get("project_id") == project["id"])
        ]
        if len(spare) > 1:
            where = f" in project {project['name']!r}" if project else ""
            self.module.fail_json(
                msg=(
                    f"{len(spare)} unassigned reserved IPs in {region}{where} ({', '.join(r['ip'] for r in spare)}); "
                    "give ip to choose one"
                )
            )
        return spare[0] if spare else None

    # -- actions ----------------------------------------------------------------------
    def settled(self, ip):
        """The IP once no action is in progress on it (the API refuses new ones until then)."""
        return self.client.wait_for(
            lambda: self.client.request("reserved_ips.get", ip)["reserved_ip"],
            lambda r: not r.get("locked"),
            self.params["wait_timeout"],
            f"the action in progress on reserved IP {ip}",
        )

    def act(self, reserved, body, what, wait=False):
        if reserved.get("locked"):
            self.settled(reserved["ip"])
        action = self.client.request("reserved_ips_actions.post", reserved["ip"], body)["action"]
        if wait or self.params["wait"]:
            self.client.wait_action(action, self.params["wait_timeout"], f"{what} of reserved IP {reserved['ip']}")

    # -- main -----------------------------------------------------------------------------
    def run(self):
        state = self.params["state"]
        ip = self.wanted_ip()
        droplet = self.find_droplet()
        project = find_project(self.client, self.module, self.params["project"])
        ips = self.client.list_all("reserved_ips.list", "reserved_ips")
        current = self.find(ips, ip, droplet, project)

        if state == "absent":
            self.diff(view(current), None)
            if current and not self.check_mode:
                if current.get("locked"):
                    current = self.settled(current["ip"])
                if droplet_id_of(current) is not None:
                    self.act(current, {"type": "unassign"}, "unassigning", wait=True)
                self.client.request("reserved_ips.delete", current["ip"])
            return self.exit({})

        if current is None:
            if ip:
                self.module.fail_json(
                    msg=f"reserved IP {ip} does not exist in the account (addresses cannot be chosen; omit ip to create one)"
                )
            if droplet and state == "unassigned":  # the droplet holds no reserved IP: nothing to unassign
                self.diff(None, None)
                return self.exit({})
            return self.create(ips, droplet, project)
        return self.update(current, ips, droplet, project)

    def create(self, ips, droplet, project):
        if droplet and self.params["region"] and not region_matches(self.params["region"], region_slug(droplet)):
            self.module.fail_json(
                msg=f"droplet {droplet['name']} is in {region_slug(droplet)}, not in {self.params['region']}"
            )
        region = region_slug(droplet) if droplet else self.params["region"]
        if droplet:
            body = {"droplet_id": droplet["id"]}
        else:
            body = {"region": region}
            if project:
                body["project_id"] = project["id"]
        planned = {
            "ip": None,
            "region": {"slug": region},
            "droplet": {"id": droplet["id"], "name": droplet["name"]} if droplet else None,
            "locked": False,
            "project_id": project["id"] if project else None,
        }
        after = view(planned)
        after["ip"] = "(allocated by DigitalOcean)"
        self.diff(None, after)
        if self.check_mode:
            return self.exit(planned)
        known = {r["ip"] for r in ips}
        created = self.create_once(
            lambda: self.send_create(body),
            lambda: self.created_meanwhile(known, region),
            f"reserved IP in {region}" + (f" for droplet {droplet['name']}" if droplet else ""),
        )
        if droplet and project and created.get("project_id") != project["id"]:
            self.client.request(
                "projects.assign_resources", project["id"], {"resources": [f"do:floatingip:{created['ip']}"]}
            )
        if self.params["wait"] and droplet:
            created = self.settled(created["ip"])
        else:
            created = self.client.request("reserved_ips.get", created["ip"])["reserved_ip"]
        self._after = view(created)
        return self.exit(created)

    def send_create(self, body):
        answer = self.client.request("reserved_ips.create", body, idempotent=False)
        actions = ((answer.get("links") or {}).get("actions")) or []
        if actions and self.params["wait"]:
            action = {"id": actions[0]["id"], "status": "in-progress", "type": actions[0].get("rel")}
            self.client.wait_action(
                action, self.params["wait_timeout"], f"assigning new reserved IP {answer['reserved_ip']['ip']}"
            )
        return answer["reserved_ip"]

    def created_meanwhile(self, known, region):
        """After an unanswered create: the new IP of that region, when the create happened."""
        new = [
            r
            for r in self.client.list_all("reserved_ips.list", "reserved_ips")
            if r["ip"] not in known and region_slug(r) == region
        ]
        return new[0] if len(new) == 1 else None

    def update(self, reserved, ips, droplet, project):
        state = self.params["state"]
        label = f"reserved IP {reserved['ip']}"
        region = region_slug(reserved)
        if self.params["region"] and not region_matches(self.params["region"], region):
            self.module.fail_json(msg=f"{label} is in {region}, not in {self.params['region']}; it cannot move regions")
        after = dict(reserved)
        assign = unassign = False
        if state == "present" and droplet and droplet_id_of(reserved) != droplet["id"]:
            if region_slug(droplet) != region:
                self.module.fail_json(
                    msg=f"{label} is in {region}; droplet {droplet['name']} ({droplet['id']}) is in {region_slug(droplet)}"
                )
            holder = next((r for r in ips if droplet_id_of(r) == droplet["id"]), None)
            if holder:
                self.module.fail_json(
                    msg=(
                        f"droplet {droplet['name']} ({droplet['id']}) already has reserved IP {holder['ip']}; "
                        "release or unassign it first"
                    )
                )
            assign = True
            after["droplet"] = {"id": droplet["id"], "name": droplet["name"]}
        if state == "unassigned" and droplet_id_of(reserved) is not None:
            unassign = True
            after["droplet"] = None
        move_project = bool(project and reserved.get("project_id") != project["id"])
        if move_project:
            after["project_id"] = project["id"]
        self.diff(view(reserved), view(after))
        if self.check_mode or not (assign or unassign or move_project):
            return self.exit(after)
        if assign:
            self.act(
                reserved, {"type": "assign", "droplet_id": droplet["id"]}, f"assigning to droplet {droplet['name']}"
            )
        if unassign:
            self.act(reserved, {"type": "unassign"}, "unassigning")
        if move_project:
            self.client.request(
                "projects.assign_resources", project["id"], {"resources": [f"do:floatingip:{reserved['ip']}"]}
            )
        return self.exit(self.client.request("reserved_ips.get", reserved["ip"])["reserved_ip"])


def main():
    ReservedIpModule().execute()


if __name__ == "__main__":
    main()
