#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tag
short_description: Create and delete DigitalOcean tags and tag resources with them
version_added: 0.1.0
description:
  - Makes a tag exist (or not) and, optionally, makes it carried by the listed resources.
  - A tag is identified by its O(name). Deleting a tag removes it from every resource carrying it.
  - Resources are tagged and untagged through the tag's add/remove endpoints, so only the
    difference is sent. Droplets, images, volumes and volume snapshots can be managed this way
    (the types the API's tagging request accepts); other resources keep their tag untouched.
options:
  state:
    description: Whether the tag should exist.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The tag (letters, digits, colons, dashes and underscores, up to 255 characters).
    type: str
    required: true
  resources:
    description:
      - Resources that carry the tag. Those missing it are tagged.
    type: list
    elements: dict
    suboptions:
      resource_type:
        description: The kind of resource.
        type: str
        choices: [droplet, image, volume, volume_snapshot]
        required: true
      resource_id:
        description: Its id (the numeric id of a droplet or image, the UUID of a volume or snapshot).
        type: str
        required: true
  purge_resources:
    description:
      - Untag the resources (of the types O(resources) can name) that carry the tag but are not
        listed in O(resources). With O(resources=[]) that untags all of them.
    type: bool
    default: false
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The tag every production droplet carries
  seaworthy.digitalocean.tag:
    name: freshtrack-production

- name: Exactly these droplets are web servers
  seaworthy.digitalocean.tag:
    name: web
    resources:
      - resource_type: droplet
        resource_id: "{{ web.droplet.id }}"
    purge_resources: true

- name: Retire a tag (untags everything carrying it)
  seaworthy.digitalocean.tag:
    name: legacy
    state: absent
"""

RETURN = r"""
tag:
  description: The tag as the API returns it, with the count of resources carrying it (empty when absent).
  returned: always
  type: dict
  sample:
    name: web
    resources:
      count: 2
      droplets:
        count: 2
        last_tagged_uri: https://api.digitalocean.com/v2/droplets/3164444
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule

NAME_RE = re.compile(r"^[a-zA-Z0-9_\-:]{1,255}$")
# resource_type -> key of its count in a tag's `resources` statistics
TYPES = {
    "droplet": "droplets",
    "image": "images",
    "volume": "volumes",
    "volume_snapshot": "volume_snapshots",
}

GETTERS = {
    "droplet": ("droplets.get", int),
    "image": ("images.get", int),
    "volume": ("volumes.get", str),
    "volume_snapshot": ("snapshots.get", str),
}


def ref(resource_type, resource_id):
    return f"{resource_type}:{resource_id}"


class TagModule(DOModule):
    resource_key = "tag"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "name": {"type": "str", "required": True},
                "resources": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "resource_type": {"type": "str", "choices": list(TYPES), "required": True},
                        "resource_id": {"type": "str", "required": True},
                    },
                },
                "purge_resources": {"type": "bool", "default": False},
            },
        )

    def wanted(self):
        wanted = []
        for item in self.params["resources"] or []:
            kind, resource_id = item["resource_type"], str(item["resource_id"]).strip()
            if kind in ("droplet", "image") and not resource_id.isdigit():
                self.module.fail_json(msg=f"resources: a {kind} id is a number, got {resource_id!r}")
            if not resource_id:
                self.module.fail_json(msg=f"resources: empty resource_id for a {kind}")
            wanted.append(ref(kind, resource_id))
        return list(dict.fromkeys(wanted))

    def tagged(self, tag, kinds):
        """`type:id` of the resources of `kinds` that carry the tag (only types the tag counts are listed)."""
        name = tag["name"]
        stats = tag.get("resources") or {}
        found = []
        for kind in kinds:
            if not (stats.get(TYPES[kind]) or {}).get("count"):
                continue
            if kind == "droplet":
                items = self.client.list_all("droplets.list", "droplets", tag_name=name)
            elif kind == "image":
                items = self.client.list_all("images.list", "images", tag_name=name)
            elif kind == "volume":
                items = self.client.list_all("volumes.list", "volumes")
            else:
                items = self.client.list_all("snapshots.list", "snapshots", resource_type="volume")
            found += [ref(kind, i["id"]) for i in items if name in (i.get("tags") or [])]
        return found

    def run(self):
        name = self.params["name"]
        if not NAME_RE.match(name):
            self.module.fail_json(
                msg=f"tag name {name!r} is invalid: use letters, digits, colons, dashes and underscores (up to 255)"
            )
        wanted = self.wanted()
        current = self.client.fetch("tags.get", name)
        current = current["tag"] if current else None

        if self.params["state"] == "absent":
            self.diff({"name": name} if current else None, None)
            if current and not self.check_mode:
                self.client.request("tags.delete", name)
            return self.exit({})

        managed = self.params["resources"] is not None
        kinds = sorted({w.split(":", 1)[0] for w in wanted} | (set(TYPES) if self.params["purge_resources"] else set()))
        before_refs = self.tagged(current, kinds) if current and managed else []
        after_refs = list(before_refs)
        add = [w for w in wanted if w not in before_refs]
        remove = [r for r in before_refs if r not in wanted] if self.params["purge_resources"] else []
        after_refs = [r for r in before_refs if r not in remove] + add

        before = {"name": name, "resources": sorted(before_refs)} if current else None
        after = {"name": name, "resources": sorted(after_refs)}
        if not managed:
            before, after = (before and {"name": name}), {"name": name}
        self.diff(before, after)
        self.check_exist(add)
        if self.check_mode:
            return self.exit(current or {"name": name, "resources": {"count": 0}})

        if current is None:
            self.create_once(
                lambda: self.client.request("tags.create", {"name": name}, idempotent=False)["tag"],
                lambda: (self.client.fetch("tags.get", name) or {}).get("tag"),
                f"tag {name!r}",
            )
        if add:
            self.client.request("tags.assign_resources", name, {"resources": self.body(add)})
        if remove:
            self.client.request("tags.unassign_resources", name, {"resources": self.body(remove)})
        if current is None or add or remove:
            current = self.client.request("tags.get", name)["tag"]
        return self.exit(current)

    def check_exist(self, refs):
        """Fail before any write when a resource to tag does not exist (the API would refuse the whole call)."""
        for item in refs:
            kind, resource_id = item.split(":", 1)
            operation, arg = GETTERS[kind]
            if self.client.fetch(operation, arg(resource_id)) is None:
                self.module.fail_json(msg=f"resources: {kind.replace('_', ' ')} {resource_id} does not exist")

    @staticmethod
    def body(refs):
        return [{"resource_id": r.split(":", 1)[1], "resource_type": r.split(":", 1)[0]} for r in refs]


def main():
    TagModule().execute()


if __name__ == "__main__":
    main()
