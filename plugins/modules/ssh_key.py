#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ssh_key
short_description: Manage SSH keys of a DigitalOcean account
version_added: 0.1.0
description:
  - Adds, renames and removes the public SSH keys of the account, which droplets
    receive in root's C(authorized_keys) when they are created.
  - A key is identified by O(id), else by its fingerprint (computed from O(public_key) or given
    as O(fingerprint)), else by O(name) for O(state=absent). DigitalOcean stores a public key
    once per account, so the fingerprint is the natural identity.
options:
  state:
    description: Whether the key should exist.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The key's name in the account. Required to create a key; a key found by
        fingerprint with another name is renamed.
    type: str
  public_key:
    description: The whole public key line (C(type base64 [comment])). Required to create a key.
    type: str
  fingerprint:
    description: The key's MD5 fingerprint as DigitalOcean shows it, to find an existing key.
    type: str
  id:
    description: The key's numeric id, to find an existing key.
    type: int
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: Give droplets the team's deploy key
  seaworthy.digitalocean.ssh_key:
    name: ops-deploy
    public_key: "{{ lookup('ansible.builtin.file', 'files/ops-deploy.pub') }}"
  register: deploy_key

- name: Remove a departed engineer's key
  seaworthy.digitalocean.ssh_key:
    name: alice-laptop
    state: absent
"""

RETURN = r"""
ssh_key:
  description: The key as the API returns it (empty when absent).
  returned: always
  type: dict
  sample:
    id: 512189
    fingerprint: "3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa"
    public_key: ssh-ed25519 AAAAC3Nza... ops@example
    name: ops-deploy
"""

import base64
import binascii
import hashlib

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule

KEY_TYPES = (
    "ssh-rsa",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)


def fingerprint_of(public_key):
    """DigitalOcean's fingerprint of a public key line, or None when the line is not a key."""
    parts = (public_key or "").split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        return None
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


class SshKeyModule(DOModule):
    resource_key = "ssh_key"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "name": {"type": "str"},
                "public_key": {"type": "str", "no_log": False},
                "fingerprint": {"type": "str"},
                "id": {"type": "int"},
            },
            required_one_of=[("id", "fingerprint", "public_key", "name")],
        )

    def wanted_fingerprint(self):
        if self.params["public_key"]:
            fingerprint = fingerprint_of(self.params["public_key"])
            if fingerprint is None:
                self.module.fail_json(
                    msg="public_key is not an SSH public key line (expected 'type base64 [comment]' with type one of {})".format(
                        ", ".join(KEY_TYPES)
                    )
                )
            return fingerprint
        return self.params["fingerprint"]

    def find(self, keys):
        if self.params["id"] is not None:
            return next((k for k in keys if k["id"] == self.params["id"]), None)
        fingerprint = self.wanted_fingerprint()
        if fingerprint:
            return next((k for k in keys if k["fingerprint"] == fingerprint), None)
        return self.unique(keys, "SSH key", name=self.params["name"])

    def run(self):
        state, name = self.params["state"], self.params["name"]
        keys = self.client.list_all("ssh_keys.list", "ssh_keys")
        current = self.find(keys)
        if state == "absent":
            self.diff(current, None)
            if current and not self.check_mode:
                self.client.request("ssh_keys.delete", current["id"])
            return self.exit({})
        if current is None:
            if not (name and self.params["public_key"]):
                self.module.fail_json(msg="creating an SSH key needs both name and public_key")
            planned = {
                "name": name,
                "public_key": self.params["public_key"].strip(),
                "fingerprint": self.wanted_fingerprint(),
            }
            self.diff(None, planned)
            if self.check_mode:
                return self.exit(planned)
            created = self.create_once(
                lambda: self.client.request(
                    "ssh_keys.create", {"name": name, "public_key": planned["public_key"]}, idempotent=False
                )["ssh_key"],
                lambda: self.find(self.client.list_all("ssh_keys.list", "ssh_keys")),
                f"SSH key {name!r}",
            )
            return self.exit(created)
        if name and current["name"] != name:
            updated = dict(current, name=name)
            self.diff(current, updated)
            if not self.check_mode:
                updated = self.client.request("ssh_keys.update", current["id"], {"name": name})["ssh_key"]
            return self.exit(updated)
        self.diff(current, current)
        return self.exit(current)


def main():
    SshKeyModule().execute()


if __name__ == "__main__":
    main()
