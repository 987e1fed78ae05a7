#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: droplet
short_description: Create, reconcile, power and delete DigitalOcean droplets
version_added: 0.1.0
description:
  - Makes a droplet (or a fleet of them, with O(count)) exist as declared and keeps it there.
  - Identity is O(id) when given, else O(name) in O(region) over every page of the account's
    droplets; a bare region prefix such as V(nyc) matches any V(nyc) datacenter. Two droplets
    matching fail the task with their ids. A create is never sent twice; after a 5xx or a
    timeout the module looks the droplet up before retrying.
  - An existing droplet is reconciled in its size (resize action; the droplet is powered off only when
    O(allow_power_cycle=true) or it is off already), tags, backups and their policy, IPv6, power
    state, attached volumes and project. Image, region and VPC cannot change in place; the module
    fails naming them, or replaces the droplet when O(recreate=true).
  - With O(wait=true) (default) it waits until the droplet is V(active) and has its public IPv4,
    and returns it.
options:
  state:
    description:
      - V(present) makes the droplet exist (created droplets are powered on; existing ones keep their power state).
      - V(active) and V(inactive) also power it on or off (shutdown, then power off if needed).
      - V(absent) deletes it.
    type: str
    choices: [present, active, inactive, absent]
    default: present
  id:
    description: The droplet's id; identity then ignores O(name) and O(region).
    type: int
  name:
    description:
      - The droplet's name. With O(count), a template where C({n}) is replaced by 1..O(count),
        for example V(web-{n}).
    type: str
  count:
    description:
      - Manage a fleet of this many droplets named from the O(name) template.
      - Droplets beyond O(count) are left alone (lower it and delete the rest explicitly).
    type: int
  region:
    description: Region slug (V(nyc3)); needed to create.
    type: str
  size:
    description: Size slug (V(s-2vcpu-4gb)); needed to create, reconciled on existing droplets.
    type: str
  image:
    description: Image slug (V(debian-13-x64)) or numeric id (snapshots); needed to create.
    type: str
  ssh_keys:
    description:
      - Account SSH keys for root, by id, fingerprint or name. Only used at creation (DigitalOcean
        cannot change them later).
    type: list
    elements: str
    default: []
  vpc:
    description: The VPC by id or name; the region's default VPC when omitted.
    type: str
  tags:
    description: Tags the droplet carries; created as needed.
    type: list
    elements: str
  purge_tags:
    description: Remove tags not listed in O(tags) (when O(tags) is given).
    type: bool
    default: true
  user_data:
    description: Cloud-init user data, only used at creation.
    type: str
  backups:
    description: Enable or disable DigitalOcean's droplet backups.
    type: bool
  backup_policy:
    description: Backup schedule when O(backups=true).
    type: dict
    suboptions:
      plan:
        description: How often backups are taken.
        type: str
        choices: [daily, weekly]
        required: true
      weekday:
        description: Day of a weekly backup.
        type: str
        choices: [SUN, MON, TUE, WED, THU, FRI, SAT]
      hour:
        description: Start hour (UTC) of the backup window, a multiple of 4.
        type: int
        choices: [0, 4, 8, 12, 16, 20]
  monitoring:
    description:
      - Install the DigitalOcean metrics agent at creation. An existing droplet cannot be changed
        through the API; a mismatch is reported as a warning.
    type: bool
  ipv6:
    description:
      - Enable IPv6. On an existing droplet this needs it powered off (see O(allow_power_cycle));
        it cannot be disabled again through the API.
    type: bool
  volumes:
    description: Block storage volumes (ids or names, same region) to attach.
    type: list
    elements: str
  project:
    description: Project (id or name) the droplet belongs to.
    type: str
  allow_power_cycle:
    description:
      - Allow powering a running droplet off for a change DigitalOcean only makes while it is off
        (resize, enabling IPv6), and on again afterwards.
    type: bool
    default: false
  resize_disk:
    description: Grow the disk with the size. Permanent; the droplet can then never shrink.
    type: bool
    default: false
  recreate:
    description: Replace a droplet whose image, region or VPC differs. Its disk is lost.
    type: bool
    default: false
  wait_timeout:
    description: How many seconds to wait for actions and for the droplet to become active.
    type: int
    default: 600
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.wait
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The application droplet, hardened by later plays
  seaworthy.digitalocean.droplet:
    name: freshtrack-production-web-1
    region: nyc3
    size: s-2vcpu-4gb
    image: debian-13-x64
    vpc: freshtrack-production-vpc
    ssh_keys: [ops-deploy]
    tags: [freshtrack, production, web]
    backups: true
    monitoring: true
    project: FreshTrack Pro
  register: web

- name: A fleet of three workers
  seaworthy.digitalocean.droplet:
    name: "malar-production-worker-{n}"
    count: 3
    region: blr1
    size: s-1vcpu-2gb
    image: debian-13-x64
    tags: [malar, production, worker]

- name: Grow the database droplet, powering it off for the resize
  seaworthy.digitalocean.droplet:
    name: ma-electrical-production-web-1
    region: sgp1
    size: s-4vcpu-8gb
    allow_power_cycle: true

- name: Remove it
  seaworthy.digitalocean.droplet:
    name: ma-electrical-staging-web-1
    region: sgp1
    state: absent
"""

RETURN = r"""
droplet:
  description: The droplet as the API returns it (without O(count)); empty when absent.
  returned: always
  type: dict
droplets:
  description: Every droplet of the fleet, in O(name) order (with O(count)).
  returned: when O(count) is given
  type: list
  elements: dict
public_ipv4:
  description: The droplet's public IPv4 address (without O(count)).
  returned: when the droplet exists and has one
  type: str
  sample: 203.0.113.10
private_ipv4:
  description: The droplet's address in its VPC (without O(count)).
  returned: when the droplet exists and has one
  type: str
  sample: 10.116.0.2
"""

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule, region_matches, region_slug
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._resources import (
    ensure_in_project,
    find_project,
    reconcile_tags,
    resolve_ssh_keys,
    resolve_vpc,
)

MULTI_CREATE_LIMIT = 10  # names per POST /v2/droplets


def address(droplet, kind):
    for net in (droplet.get("networks") or {}).get("v4") or []:
        if net.get("type") == kind:
            return net.get("ip_address")
    return None


def view(droplet):
    """What --diff shows of a droplet: the declared attributes, not the API's bookkeeping."""
    if not droplet:
        return {}
    image = droplet.get("image") or {}
    features = droplet.get("features") or []
    return {
        "name": droplet.get("name"),
        "region": region_slug(droplet),
        "size": droplet.get("size_slug"),
        "image": image.get("slug") or image.get("id"),
        "vpc_uuid": droplet.get("vpc_uuid"),
        "tags": sorted(droplet.get("tags") or []),
        "backups": "backups" in features,
        "monitoring": "monitoring" in features,
        "ipv6": "ipv6" in features,
        "status": droplet.get("status"),
        "volume_ids": sorted(droplet.get("volume_ids") or []),
    }


class DropletModule(DOModule):
    resource_key = "droplet"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "active", "inactive", "absent"], "default": "present"},
                "id": {"type": "int"},
                "name": {"type": "str"},
                "count": {"type": "int"},
                "region": {"type": "str"},
                "size": {"type": "str"},
                "image": {"type": "str"},
                "ssh_keys": {"type": "list", "elements": "str", "default": [], "no_log": False},
                "vpc": {"type": "str"},
                "tags": {"type": "list", "elements": "str"},
                "purge_tags": {"type": "bool", "default": True},
                "user_data": {"type": "str"},
                "backups": {"type": "bool"},
                "backup_policy": {
                    "type": "dict",
                    "options": {
                        "plan": {"type": "str", "choices": ["daily", "weekly"], "required": True},
                        "weekday": {"type": "str", "choices": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]},
                        "hour": {"type": "int", "choices": [0, 4, 8, 12, 16, 20]},
                    },
                },
                "monitoring": {"type": "bool"},
                "ipv6": {"type": "bool"},
                "volumes": {"type": "list", "elements": "str"},
                "project": {"type": "str"},
                "allow_power_cycle": {"type": "bool", "default": False},
                "resize_disk": {"type": "bool", "default": False},
                "recreate": {"type": "bool", "default": False},
            },
            wait=True,
            wait_timeout=600,
            required_one_of=[("id", "name")],
            mutually_exclusive=[("id", "count")],
        )
        self.befores = []
        self.afters = []
        self.warnings = []

    # -- what is asked --------------------------------------------------------
    def target_names(self):
        name, count = self.params["name"], self.params["count"]
        if count is None:
            return [name]
        if count < 1:
            self.module.fail_json(msg=f"count must be at least 1, got {count}")
        if not name or "{n}" not in name:
            self.module.fail_json(msg="with count, name must be a template containing {n}, e.g. web-{n}")
        return [name.replace("{n}", str(i)) for i in range(1, count + 1)]

    def find(self, droplets, name):
        if self.params["id"] is not None:
            return next((d for d in droplets if d["id"] == self.params["id"]), None)
        return self.unique(droplets, "droplet", name=name, region=self.params["region"])

    # -- actions ----------------------------------------------------------------
    def act(self, droplet, body, what, wait=True):
        if self.check_mode:
            return
        action = self.client.request("droplet_actions.post", droplet["id"], body)["action"]
        if wait:
            self.client.wait_action(
                action, self.params["wait_timeout"], f"{what} of droplet {droplet['name']} ({droplet['id']})"
            )

    def power_off(self, droplet):
        if self.check_mode:
            return
        shutdown = self.client.request("droplet_actions.post", droplet["id"], {"type": "shutdown"})["action"]
        done = self.client.wait_for(
            lambda: self.client.request("actions.get", shutdown["id"])["action"],
            lambda a: a["status"] != "in-progress",
            self.params["wait_timeout"],
            f"shutdown of droplet {droplet['name']}",
        )
        if done["status"] == "errored":  # the OS did not shut down cleanly: cut the power
            self.act(droplet, {"type": "power_off"}, "power off")

    # -- create -----------------------------------------------------------------
    def create_body(self, names, vpc):
        missing = [opt for opt in ("region", "size", "image") if not self.params[opt]]
        if missing:
            self.module.fail_json(msg=f"creating droplet {names[0]!r} needs {', '.join(missing)}")
        image = self.params["image"]
        body = {
            "region": self.params["region"],
            "size": self.params["size"],
            "image": int(image) if image.isdigit() else image,
            "ssh_keys": resolve_ssh_keys(self.client, self.module, self.params["ssh_keys"]),
            "backups": bool(self.params["backups"]),
            "ipv6": bool(self.params["ipv6"]),
            "monitoring": bool(self.params["monitoring"]),
            "tags": self.params["tags"] or [],
        }
        if len(names) == 1:
            body["name"] = names[0]
        else:
            body["names"] = names
        if vpc:
            body["vpc_uuid"] = vpc["id"]
        if self.params["user_data"]:
            body["user_data"] = self.params["user_data"]
        if self.params["backups"] and self.params["backup_policy"]:
            body["backup_policy"] = {k: v for k, v in self.params["backup_policy"].items() if v is not None}
        if self.params["volumes"]:
            body["volumes"] = [v["id"] for v in self.resolve_volumes()]
        return body

    def planned(self, name, vpc):
        """The droplet a create would make, for check mode and --diff."""
        features = [f for f in ("backups", "monitoring", "ipv6") if self.params[f]]
        image = self.params["image"]
        return {
            "name": name,
            "region": {"slug": self.params["region"]},
            "size_slug": self.params["size"],
            "image": {"slug": image} if image and not image.isdigit() else {"id": int(image) if image else None},
            "vpc_uuid": vpc["id"] if vpc else None,
            "tags": self.params["tags"] or [],
            "features": features,
            "status": "off" if self.params["state"] == "inactive" else "active",
            "volume_ids": [],
        }

    def create(self, names, vpc):
        created = []
        for start in range(0, len(names), MULTI_CREATE_LIMIT):
            batch = names[start : start + MULTI_CREATE_LIMIT]
            created += self.create_once(
                lambda batch=batch: self.send_create(batch, vpc),
                lambda batch=batch: self.found_after_uncertain_create(batch, vpc),
                f"droplet(s) {', '.join(batch)}",
            )
        return created

    def send_create(self, names, vpc):
        body = self.client.request("droplets.create", self.create_body(names, vpc), idempotent=False)
        return body["droplets"] if "droplets" in body else [body["droplet"]]

    def found_after_uncertain_create(self, names, vpc):
        """After an unanswered create: the droplets that exist; create the rest now; None if none exist."""
        droplets = self.client.list_all("droplets.list", "droplets")
        found = [d for d in (self.find(droplets, n) for n in names) if d is not None]
        if not found:
            return None
        rest = [n for n in names if n not in {d["name"] for d in found}]
        return found + (self.create(rest, vpc) if rest else [])

    def wait_ready(self, droplet):
        return self.client.wait_for(
            lambda: self.client.request("droplets.get", droplet["id"])["droplet"],
            lambda d: d["status"] == "active" and address(d, "public"),
            self.params["wait_timeout"],
            f"droplet {droplet['name']} ({droplet['id']}) to become active with a public IPv4",
            describe=lambda d: f"status {d['status']}",
        )

    # -- reconcile ----------------------------------------------------------------
    def resolve_volumes(self):
        if not self.params["volumes"]:
            return []
        volumes = self.client.list_all("volumes.list", "volumes")
        resolved = []
        for ref in self.params["volumes"]:
            matches = [
                v
                for v in volumes
                if ref in (v["id"], v["name"]) and region_matches(self.params["region"], region_slug(v) or "")
            ]
            if len(matches) != 1:
                self.module.fail_json(msg=f"volumes: {len(matches) or 'no'} volume(s) match {ref!r}; give its id")
            resolved.append(matches[0])
        return resolved

    def immutable_differences(self, droplet, vpc):
        differences = []
        actual_region = region_slug(droplet)
        if self.params["region"] and not region_matches(self.params["region"], actual_region):
            differences.append(f"region {actual_region} -> {self.params['region']}")
        image = self.params["image"]
        current_image = droplet.get("image") or {}
        if image and image not in (str(current_image.get("id")), current_image.get("slug")):
            differences.append(f"image {current_image.get('slug') or current_image.get('id')} -> {image}")
        if vpc and droplet.get("vpc_uuid") != vpc["id"]:
            differences.append(f"vpc {droplet.get('vpc_uuid')} -> {vpc['id']}")
        return differences

    def reconcile(self, droplet, vpc, project):
        """Bring one existing droplet to the declared state; return its projected view."""
        after = view(droplet)
        features = droplet.get("features") or []
        state = self.params["state"]
        size = self.params["size"]
        powered_off_for_resize = False

        resize = bool(size and droplet["size_slug"] != size)
        enable_ipv6 = bool(self.params["ipv6"] and "ipv6" not in features)
        offline_changes = [
            c
            for c, needed in (
                ("resizing " + f"{droplet['size_slug']} -> {size}", resize),
                ("enabling IPv6", enable_ipv6),
            )
            if needed
        ]
        if offline_changes and droplet["status"] != "off":
            if not self.params["allow_power_cycle"]:
                self.module.fail_json(
                    msg=(
                        f"droplet {droplet['name']} ({droplet['id']}) is {droplet['status']}: "
                        f"{' and '.join(offline_changes)} needs it powered off. Set allow_power_cycle: true "
                        "(it is powered on again afterwards) or state: inactive."
                    )
                )
            self.power_off(droplet)
            powered_off_for_resize = True
            after["status"] = "off"
        if resize:
            self.act(droplet, {"type": "resize", "size": size, "disk": self.params["resize_disk"]}, f"resize to {size}")
            after["size"] = size
        if enable_ipv6:
            self.act(droplet, {"type": "enable_ipv6"}, "enable IPv6")
            after["ipv6"] = True

        backups = self.params["backups"]
        if backups is not None and backups != ("backups" in features):
            self.act(droplet, {"type": "enable_backups" if backups else "disable_backups"}, "backups change")
            after["backups"] = backups
        if backups is not False and self.params["backup_policy"] and ("backups" in features or backups):
            self.reconcile_backup_policy(droplet, after)

        if self.params["ipv6"] is False and "ipv6" in features:
            self.warnings.append(f"droplet {droplet['name']}: IPv6 cannot be disabled through the API; left enabled")
        if self.params["monitoring"] is not None and self.params["monitoring"] != ("monitoring" in features):
            self.warnings.append(
                f"droplet {droplet['name']}: monitoring can only be chosen at creation; install or remove do-agent on the host"
            )

        if self.params["tags"] is not None:
            after["tags"] = sorted(
                reconcile_tags(
                    self.client,
                    "droplet",
                    droplet["id"],
                    droplet.get("tags"),
                    self.params["tags"],
                    self.params["purge_tags"],
                    self.check_mode,
                )
            )

        for volume in self.resolve_volumes():
            if volume["id"] not in (droplet.get("volume_ids") or []):
                if not self.check_mode:
                    action = self.client.request(
                        "volume_actions.post_by_id",
                        volume["id"],
                        {"type": "attach", "droplet_id": droplet["id"], "region": region_slug(droplet)},
                    )["action"]
                    self.client.wait_action(action, self.params["wait_timeout"], f"attaching volume {volume['name']}")
                after["volume_ids"] = sorted([*after["volume_ids"], volume["id"]])

        want_on = state == "active" or (
            state == "present" and (powered_off_for_resize or droplet["status"] == "active")
        )
        if state == "inactive" and after["status"] != "off":
            self.power_off(droplet)
            after["status"] = "off"
        elif want_on and after["status"] == "off":
            self.act(droplet, {"type": "power_on"}, "power on", wait=self.params["wait"])
            after["status"] = "active"

        if ensure_in_project(self.client, project, f"do:droplet:{droplet['id']}", self.check_mode):
            self.changed = True
        return after

    def reconcile_backup_policy(self, droplet, after):
        wanted = {k: v for k, v in self.params["backup_policy"].items() if v is not None}
        current = {}
        if "backups" in (droplet.get("features") or []):
            policy = self.client.fetch("droplets.get_backup_policy", droplet["id"])
            current = ((policy or {}).get("policy") or {}).get("backup_policy") or {}
        if any(current.get(k) != v for k, v in wanted.items()):
            if "backups" in (droplet.get("features") or []):
                self.act(droplet, {"type": "change_backup_policy", "backup_policy": wanted}, "backup policy change")
            after["backup_policy"] = wanted

    # -- main -----------------------------------------------------------------------
    def run(self):
        names = self.target_names() if self.params["id"] is None else [None]
        droplets = self.client.list_all("droplets.list", "droplets")
        current = {n: self.find(droplets, n) for n in names}

        if self.params["state"] == "absent":
            for droplet in current.values():
                if droplet:
                    self.befores.append(view(droplet))
                    if not self.check_mode:
                        self.client.request("droplets.destroy", droplet["id"])
            self.finish([])
            return

        if self.params["id"] is not None and current[None] is None:
            self.module.fail_json(msg=f"droplet id {self.params['id']} does not exist")
        vpc = resolve_vpc(self.client, self.module, self.params["vpc"], self.params["region"])
        project = find_project(self.client, self.module, self.params["project"])

        results = {}
        to_create = []
        for name, droplet in current.items():
            if droplet is None:
                to_create.append(name)
                continue
            differences = self.immutable_differences(droplet, vpc)
            if differences and not self.params["recreate"]:
                self.module.fail_json(
                    msg=(
                        f"droplet {droplet['name']} ({droplet['id']}) cannot change in place: "
                        f"{'; '.join(differences)}. Set recreate: true to replace it (its disk is lost)."
                    )
                )
            self.befores.append(view(droplet))
            if differences:
                if not self.check_mode:
                    self.client.request("droplets.destroy", droplet["id"])
                to_create.append(droplet["name"])
                continue
            self.afters.append(self.reconcile(droplet, vpc, project))
            results[name] = droplet

        if to_create:
            self.afters += [view(self.planned(n, vpc)) for n in to_create]
            if not self.check_mode:
                for droplet in self.create(to_create, vpc):
                    results[droplet["name"]] = droplet
                    if project:
                        ensure_in_project(self.client, project, f"do:droplet:{droplet['id']}", False)

        if not self.check_mode and self.changed_or_planned():
            for name, droplet in list(results.items()):
                fresh = self.wait_ready(droplet) if self.params["wait"] and self.params["state"] != "inactive" else None
                results[name] = fresh or self.client.request("droplets.get", droplet["id"])["droplet"]
            for name in to_create:
                if self.params["state"] == "inactive" and results.get(name, {}).get("status") == "active":
                    self.power_off(results[name])
                    results[name] = self.client.request("droplets.get", results[name]["id"])["droplet"]
        ordered = [results.get(n) or self.planned_result(n, vpc) for n in (names if names != [None] else list(results))]
        self.finish(ordered)

    def planned_result(self, name, vpc):
        return self.planned(name, vpc) if self.check_mode else {}

    def changed_or_planned(self):
        return self.befores != self.afters or self.changed

    def finish(self, droplets):
        many = self.params["count"] is not None
        self.diff(
            self.befores if many else (self.befores or [{}])[0], self.afters if many else (self.afters or [{}])[0]
        )
        for warning in self.warnings:
            self.module.warn(warning)
        if many:
            self.exit({}, droplets=droplets)
        droplet = droplets[0] if droplets else {}
        extra = {}
        if droplet and address(droplet, "public"):
            extra["public_ipv4"] = address(droplet, "public")
        if droplet and address(droplet, "private"):
            extra["private_ipv4"] = address(droplet, "private")
        self.exit(droplet, **extra)


def main():
    DropletModule().execute()


if __name__ == "__main__":
    main()
