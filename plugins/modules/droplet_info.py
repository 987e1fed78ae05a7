#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: droplet_info
short_description: Read DigitalOcean droplets
version_added: 0.1.0
description:
  - Lists the account's droplets (every page), narrowed by id, name, region or tag.
  - Reads only; safe in check mode.
options:
  id:
    description: Only the droplet with this id.
    type: int
  name:
    description: Only droplets with this exact name.
    type: str
  region:
    description: Only droplets in this region (a prefix such as V(nyc) matches every nyc datacenter).
    type: str
  tag:
    description: Only droplets carrying this tag (filtered by the API).
    type: str
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The production web droplets
  seaworthy.digitalocean.droplet_info:
    tag: web
    region: nyc3
  register: web

- name: Their public addresses
  ansible.builtin.debug:
    msg: "{{ web.droplets | map(attribute='networks.v4') | flatten | selectattr('type', 'eq', 'public') | map(attribute='ip_address') }}"
"""

RETURN = r"""
droplets:
  description: The matching droplets as the API returns them, ordered by id.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule, region_matches, region_slug


class DropletInfoModule(DOModule):
    resource_key = "droplets"

    def __init__(self):
        super().__init__(
            {
                "id": {"type": "int"},
                "name": {"type": "str"},
                "region": {"type": "str"},
                "tag": {"type": "str"},
            }
        )

    def run(self):
        params = self.params
        if params["id"] is not None:
            droplet = self.client.fetch("droplets.get", params["id"])
            droplets = [droplet["droplet"]] if droplet else []
        else:
            filters = {"tag_name": params["tag"]} if params["tag"] else {}
            if params["name"]:
                filters["name"] = params["name"]
            droplets = self.client.list_all("droplets.list", "droplets", **filters)
        droplets = [
            d
            for d in droplets
            if (not params["name"] or d["name"] == params["name"])
            and region_matches(params["region"], region_slug(d) or "")
            and (not params["tag"] or params["tag"] in (d.get("tags") or []))
        ]
        self.module.exit_json(changed=False, droplets=sorted(droplets, key=lambda d: d["id"]))


def main():
    DropletInfoModule().execute()


if __name__ == "__main__":
    main()
