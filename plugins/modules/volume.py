#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: volume
short_description: Create, grow, attach, detach and delete DigitalOcean block storage volumes
version_added: 0.1.0
description:
  - Makes a block storage volume exist as declared, optionally formatted (O(filesystem_type)) and attached
    to a droplet.
  - Identity is O(id) when given, else O(name) in O(region) over every page of the account's volumes;
    two volumes matching (the same name in two regions, without O(region)) fail the task with their ids.
    A create is never sent twice.
  - An existing volume is reconciled in its size (it can only grow; a resize action), its tags (only the
    difference) and its attachment. Filesystem type and label, description and snapshot are only used at
    creation; a different filesystem fails the task.
  - O(droplet) attaches the volume to that droplet (detaching it from another first); an empty string
    detaches it. V(state=absent) detaches the volume, then deletes it.
options:
  state:
    description: Whether the volume should exist. V(absent) deletes it and its data.
    type: str
    choices: [present, absent]
    default: present
  id:
    description: The volume's id (UUID); identity then ignores O(name) and O(region).
    type: str
  name:
    description: The volume's name (lowercase letters, digits and V(-), starting with a letter, up to 64 characters).
    type: str
  region:
    description: Region slug (V(nyc3)); needed to create.
    type: str
  size_gigabytes:
    description: Size in GiB (1 to 16384); needed to create. A larger size grows the volume; it cannot shrink.
    type: int
    aliases: [size]
  description:
    description: Free text, only used at creation.
    type: str
  filesystem_type:
    description: Format the new volume with this filesystem (it is then mounted automatically on supported images).
    type: str
    choices: [ext4, xfs]
  filesystem_label:
    description: Label of the new filesystem (up to 16 characters for ext4, 12 for xfs).
    type: str
  snapshot_id:
    description: Create the volume from this volume snapshot.
    type: str
  tags:
    description: Tags the volume carries; created as needed.
    type: list
    elements: str
  purge_tags:
    description: Remove tags not listed in O(tags) (when O(tags) is given).
    type: bool
    default: true
  droplet:
    description:
      - The droplet (id or name, in the volume's region) the volume is attached to. An empty string detaches it.
        Left as it is when omitted.
    type: str
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.wait
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: A volume for MA Electrical's photo uploads, formatted and attached
  seaworthy.digitalocean.volume:
    name: ma-electrical-production-photos
    region: sgp1
    size_gigabytes: 50
    filesystem_type: ext4
    filesystem_label: photos
    droplet: ma-electrical-production-web-1
    tags: [ma-electrical, production]

- name: Grow it
  seaworthy.digitalocean.volume:
    name: ma-electrical-production-photos
    region: sgp1
    size_gigabytes: 100

- name: Detach and delete it
  seaworthy.digitalocean.volume:
    name: ma-electrical-staging-photos
    region: sgp1
    state: absent
"""

RETURN = r"""
volume:
  description: The volume as the API returns it; empty when absent.
  returned: always
  type: dict
  sample:
    id: 506f78a4-e098-11e5-ad9f-000f53306ae1
    name: ma-electrical-production-photos
    size_gigabytes: 50
    region:
      slug: sgp1
    droplet_ids: [3164494]
    filesystem_type: ext4
    filesystem_label: photos
    tags: [ma-electrical, production]
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule, region_matches, region_slug
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._resources import reconcile_tags

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
LABEL_LIMIT = {"ext4": 16, "xfs": 12}
MAX_SIZE_GB = 16384


def view(volume):
    if not volume:
        return {}
    return {
        "name": volume.get("name"),
        "region": region_slug(volume),
        "size_gigabytes": volume.get("size_gigabytes"),
        "filesystem_type": volume.get("filesystem_type") or "",
        "filesystem_label": volume.get("filesystem_label") or "",
        "tags": sorted(volume.get("tags") or []),
        "droplet_ids": sorted(volume.get("droplet_ids") or []),
    }


class VolumeModule(DOModule):
    resource_key = "volume"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "id": {"type": "str"},
                "name": {"type": "str"},
                "region": {"type": "str"},
                "size_gigabytes": {"type": "int", "aliases": ["size"]},
                "description": {"type": "str"},
                "filesystem_type": {"type": "str", "choices": ["ext4", "xfs"]},
                "filesystem_label": {"type": "str"},
                "snapshot_id": {"type": "str"},
                "tags": {"type": "list", "elements": "str"},
                "purge_tags": {"type": "bool", "default": True},
                "droplet": {"type": "str"},
            },
            wait=True,
            required_one_of=[("id", "name")],
        )
        self.warnings = []

    # -- input ------------------------------------------------------------------
    def validate(self):
        name, size = self.params["name"], self.params["size_gigabytes"]
        if name is not None and not NAME_RE.match(name):
            self.module.fail_json(
                msg=f"volume name {name!r} is invalid: lowercase letters, digits and '-', starting with a letter, up to 64 characters"
            )
        if size is not None and not 1 <= size <= MAX_SIZE_GB:
            self.module.fail_json(msg=f"size_gigabytes must be between 1 and {MAX_SIZE_GB}, got {size}")
        fs_type, label = self.params["filesystem_type"], self.params["filesystem_label"]
        if label and not fs_type:
            self.module.fail_json(msg="filesystem_label needs filesystem_type")
        if label and len(label) > LABEL_LIMIT[fs_type]:
            self.module.fail_json(
                msg=f"filesystem_label {label!r} is too long: an {fs_type} label has at most {LABEL_LIMIT[fs_type]} characters"
            )

    def find(self, volumes):
        if self.params["id"]:
            return next((v for v in volumes if v["id"] == self.params["id"]), None)
        return self.unique(volumes, "volume", name=self.params["name"], region=self.params["region"])

    def resolve_droplet(self, region):
        """The droplet to attach to: a dict, "" to detach, or None to leave the attachment alone."""
        ref = self.params["droplet"]
        if ref is None or ref.strip() == "":
            return ref
        ref = ref.strip()
        droplets = self.client.list_all("droplets.list", "droplets")
        if ref.isdigit():
            found = next((d for d in droplets if d["id"] == int(ref)), None)
        else:
            found = self.unique(droplets, "droplet", name=ref, region=region)
        if found is None:
            self.module.fail_json(msg=f"droplet {ref!r} not found in region {region}")
        if region and not region_matches(region, region_slug(found)):
            self.module.fail_json(
                msg=f"droplet {found['name']} is in {region_slug(found)}; a volume in {region} can only attach to a droplet of its region"
            )
        return found

    # -- actions ----------------------------------------------------------------
    def act(self, volume, body, what, wait=False):
        if self.check_mode:
            return
        body = dict(body, region=region_slug(volume))
        action = self.client.request("volume_actions.post_by_id", volume["id"], body)["action"]
        if self.params["wait"] or wait:  # a volume takes one action at a time
            self.client.wait_action(action, self.params["wait_timeout"], f"{what} of volume {volume['name']}")

    def attach(self, volume, droplet, after):
        attached = volume.get("droplet_ids") or []
        if droplet is None or (droplet and attached == [droplet["id"]]):
            return
        for droplet_id in attached:
            self.act(
                volume,
                {"type": "detach", "droplet_id": droplet_id},
                f"detaching from droplet {droplet_id}",
                wait=bool(droplet),
            )
        if droplet:
            self.act(volume, {"type": "attach", "droplet_id": droplet["id"]}, f"attaching to droplet {droplet['name']}")
        after["droplet_ids"] = [droplet["id"]] if droplet else []

    # -- main -------------------------------------------------------------------
    def run(self):
        self.validate()
        volumes = self.client.list_all("volumes.list", "volumes")
        current = self.find(volumes)
        if self.params["state"] == "absent":
            self.diff(view(current), None)
            if current and not self.check_mode:
                for droplet_id in current.get("droplet_ids") or []:
                    self.act(
                        current,
                        {"type": "detach", "droplet_id": droplet_id},
                        f"detaching from droplet {droplet_id}",
                        wait=True,
                    )
                self.client.request("volumes.delete", current["id"])
            return self.exit({})
        if current is None:
            if self.params["id"]:
                self.module.fail_json(msg=f"volume id {self.params['id']} does not exist")
            return self.create()
        return self.update(current)

    def create(self):
        name, region, size = self.params["name"], self.params["region"], self.params["size_gigabytes"]
        missing = [opt for opt, value in (("region", region), ("size_gigabytes", size)) if not value]
        if missing:
            self.module.fail_json(msg=f"creating volume {name!r} needs {', '.join(missing)}")
        droplet = self.resolve_droplet(region)
        body = {"name": name, "region": region, "size_gigabytes": size}
        for key in ("description", "filesystem_type", "filesystem_label", "snapshot_id"):
            if self.params[key]:
                body[key] = self.params[key]
        if self.params["tags"]:
            body["tags"] = list(dict.fromkeys(self.params["tags"]))
        planned = dict(body, region={"slug": region}, droplet_ids=[droplet["id"]] if droplet else [])
        self.diff(None, view(planned))
        if self.check_mode:
            return self.exit(planned)
        created = self.create_once(
            lambda: self.client.request("volumes.create", body, idempotent=False)["volume"],
            lambda: self.unique(self.client.list_all("volumes.list", "volumes"), "volume", name=name, region=region),
            f"volume {name!r} in {region}",
        )
        if droplet:
            self.attach(created, droplet, {})
            created = self.client.request("volumes.get", created["id"])["volume"]
        return self.exit(created)

    def update(self, volume):
        label = f"volume {volume['name']} ({volume['id']})"
        region = region_slug(volume)
        problems = []
        if self.params["region"] and not region_matches(self.params["region"], region):
            problems.append(f"region {region} -> {self.params['region']}")
        for key in ("filesystem_type", "filesystem_label"):
            wanted = self.params[key]
            if wanted and wanted != (volume.get(key) or ""):
                problems.append(f"{key} {volume.get(key) or '(none)'} -> {wanted}")
        size = self.params["size_gigabytes"]
        if size is not None and size < volume["size_gigabytes"]:
            problems.append(f"size {volume['size_gigabytes']} GiB -> {size} GiB (volumes can only grow)")
        if problems:
            self.module.fail_json(msg=f"{label} cannot change in place: {'; '.join(problems)}")
        if self.params["description"] is not None and self.params["description"] != (volume.get("description") or ""):
            self.warnings.append(f"{label}: the description can only be set at creation; left as it is")
        droplet = self.resolve_droplet(region)

        before = view(volume)
        after = dict(before)
        if size is not None and size > volume["size_gigabytes"]:
            attached = volume.get("droplet_ids") or []
            reattach = droplet is not None and attached != ([droplet["id"]] if droplet else [])
            self.act(volume, {"type": "resize", "size_gigabytes": size}, f"resize to {size} GiB", wait=reattach)
            after["size_gigabytes"] = size
        if self.params["tags"] is not None:
            after["tags"] = sorted(
                reconcile_tags(
                    self.client,
                    "volume",
                    volume["id"],
                    volume.get("tags"),
                    self.params["tags"],
                    self.params["purge_tags"],
                    self.check_mode,
                )
            )
        self.attach(volume, droplet, after)
        after["droplet_ids"] = sorted(after["droplet_ids"])
        self.diff(before, after)
        for warning in self.warnings:
            self.module.warn(warning)
        if self.check_mode or not self.changed:
            return self.exit(volume)
        return self.exit(self.client.request("volumes.get", volume["id"])["volume"])


def main():
    VolumeModule().execute()


if __name__ == "__main__":
    main()
