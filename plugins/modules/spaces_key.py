#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: spaces_key
short_description: Manage DigitalOcean Spaces access keys and what they may reach
version_added: 0.1.0
description:
  - Makes a Spaces (S3) access key exist with the declared grants, either full access to every bucket or
    read / read-write access to named buckets.
  - Identity is O(access_key) when given, else O(name) over every page of the account's keys; two keys of
    that name fail the task with their access key ids.
  - DigitalOcean returns the secret key once, when the key is created; the module returns it then in
    C(secret_key) of RV(key) and never again, and never in C(--diff). Register the result with C(no_log) and store the
    secret (for example in ansible-vault) in the same play.
  - Grants are compared as a set and updated in place. A full-access key cannot become a scoped key or the
    other way round (DigitalOcean's rule); the module fails saying so, create a new key instead.
options:
  state:
    description: Whether the key should exist.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The key's name. Required unless O(access_key) is given; with O(access_key) it renames the key.
    type: str
  access_key:
    description: The key's access key id (V(DO00...)); identity then ignores O(name).
    type: str
  grants:
    description:
      - What the key may reach; needed to create. A single grant with O(grants[].permission=fullaccess) and an
        empty O(grants[].bucket) is every bucket.
      - Kept as they are on an existing key when omitted.
    type: list
    elements: dict
    suboptions:
      bucket:
        description: The bucket's name; empty for V(fullaccess).
        type: str
        default: ""
      permission:
        description: V(read), V(readwrite), or V(fullaccess) (every bucket, with an empty O(grants[].bucket)).
        type: str
        required: true
        choices: [read, readwrite, fullaccess]
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: A key for the application, limited to its media bucket
  seaworthy.digitalocean.spaces_key:
    name: freshtrack-production-media
    grants:
      - bucket: freshtrack-media
        permission: readwrite
  register: spaces_key
  no_log: true

- name: Keep the secret, which DigitalOcean shows only once
  ansible.builtin.copy:
    content: "{{ spaces_key.key.secret_key }}"
    dest: /opt/freshtrack-pro/secrets/spaces-secret
    mode: "0600"
  when: spaces_key.key.secret_key is defined
  no_log: true
"""

RETURN = r"""
key:
  description:
    - The key as the API returns it (C(name), C(access_key), C(grants), C(created_at)); empty when absent.
    - C(secret_key) is only present when this run created the key.
  returned: always
  type: dict
  sample:
    name: freshtrack-production-media
    access_key: DO00ABCDEFGHIJKLMNOP
    grants:
      - bucket: freshtrack-media
        permission: readwrite
    created_at: "2025-03-13T19:20:47Z"
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
FULL = "fullaccess"


def grant_set(grants):
    return sorted({(g.get("bucket") or "", g.get("permission")) for g in grants or []})


def view(key):
    """What --diff shows of a key: never its secret."""
    if not key:
        return {}
    return {
        "name": key.get("name"),
        "access_key": key.get("access_key"),
        "grants": [f"{permission} {bucket or '*'}" for bucket, permission in grant_set(key.get("grants"))],
    }


class SpacesKeyModule(DOModule):
    resource_key = "key"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "name": {"type": "str"},
                "access_key": {"type": "str", "no_log": False},
                "grants": {
                    "type": "list",
                    "elements": "dict",
                    "options": {
                        "bucket": {"type": "str", "default": ""},
                        "permission": {"type": "str", "required": True, "choices": ["read", "readwrite", FULL]},
                    },
                },
            },
            required_one_of=[("access_key", "name")],
        )

    def wanted_grants(self):
        grants = self.params["grants"]
        if grants is None:
            return None
        seen = set()
        result = []
        for grant in grants:
            bucket, permission = (grant["bucket"] or "").strip(), grant["permission"]
            if permission == FULL and bucket:
                self.module.fail_json(
                    msg=f"grants: a fullaccess grant covers every bucket; its bucket must be empty, not {bucket!r}"
                )
            if permission != FULL and not BUCKET_RE.match(bucket):
                self.module.fail_json(
                    msg=f"grants: {bucket!r} is not a valid bucket name (3 to 63 lowercase letters, digits, '.' and '-')"
                )
            if bucket in seen:
                self.module.fail_json(msg=f"grants: bucket {bucket!r} is granted more than once")
            seen.add(bucket)
            result.append({"bucket": bucket, "permission": permission})
        if any(g["permission"] == FULL for g in result) and len(result) > 1:
            self.module.fail_json(msg="grants: a fullaccess grant cannot be mixed with per-bucket grants")
        return result

    def find(self, keys):
        if self.params["access_key"]:
            return next((k for k in keys if k["access_key"] == self.params["access_key"]), None)
        matches = [k for k in keys if k["name"] == self.params["name"]]
        if len(matches) > 1:
            ids = ", ".join(k["access_key"] for k in matches)
            self.module.fail_json(
                msg=f"Spaces key name {self.params['name']!r} is ambiguous: {len(matches)} match (access keys {ids}); use access_key to choose one"
            )
        return matches[0] if matches else None

    def run(self):
        grants = self.wanted_grants()
        keys = self.client.list_all("spaces_key.list", "keys")
        current = self.find(keys)
        name = self.params["name"]
        if self.params["state"] == "absent":
            self.diff(view(current), None)
            if current and not self.check_mode:
                self.client.request("spaces_key.delete", current["access_key"])
            return self.exit({})
        if current is None:
            if self.params["access_key"]:
                self.module.fail_json(msg=f"Spaces key {self.params['access_key']} does not exist")
            if grants is None:
                self.module.fail_json(
                    msg=f"creating Spaces key {name!r} needs grants (e.g. [{{bucket: my-bucket, permission: readwrite}}], "
                    "or [{bucket: '', permission: fullaccess}] for every bucket)"
                )
            body = {"name": name, "grants": grants}
            self.diff(None, view(body))
            if self.check_mode:
                return self.exit(body)
            created = self.create_once(
                lambda: self.client.request("spaces_key.create", body, idempotent=False)["key"],
                lambda: self.find(self.client.list_all("spaces_key.list", "keys")),
                f"Spaces key {name!r}",
            )
            return self.exit(created)

        label = f"Spaces key {current['name']} ({current['access_key']})"
        after = dict(current)
        if name and name != current["name"]:
            after["name"] = name
        if grants is not None and grant_set(grants) != grant_set(current.get("grants")):
            was_full = any(g["permission"] == FULL for g in current.get("grants") or [])
            if was_full != any(g["permission"] == FULL for g in grants):
                kinds = ("full-access", "scoped") if was_full else ("scoped", "full-access")
                self.module.fail_json(
                    msg=f"{label} is a {kinds[0]} key and cannot become a {kinds[1]} one (DigitalOcean's rule); create a new key"
                )
            after["grants"] = grants
        self.diff(view(current), view(after))
        if self.check_mode or not self.changed:
            return self.exit(after)
        updated = self.client.request(
            "spaces_key.update", current["access_key"], {"name": after["name"], "grants": after["grants"]}
        )["key"]
        return self.exit(updated)


def main():
    SpacesKeyModule().execute()


if __name__ == "__main__":
    main()
