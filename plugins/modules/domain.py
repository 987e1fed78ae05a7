#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain
short_description: Add and remove domains in DigitalOcean DNS
version_added: 0.1.0
description:
  - Makes a domain exist (or not) in the account's DigitalOcean DNS. A new domain gets its SOA
    and NS records from DigitalOcean, plus an A record for the apex when O(ip_address) is given.
  - The domain is identified by its O(name) (case and a final dot do not matter).
  - Records are managed with M(seaworthy.digitalocean.domain_record).
options:
  state:
    description: Whether the domain should exist. V(absent) deletes it with all its records.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: The domain name (V(example.com)).
    type: str
    required: true
  ip_address:
    description:
      - IPv4 address for an A record of the apex, created with the domain only; an existing domain
        is left as it is (manage its records with M(seaworthy.digitalocean.domain_record)).
    type: str
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: Serve the application's domain from DigitalOcean DNS
  seaworthy.digitalocean.domain:
    name: freshtrack.example.com
    ip_address: "{{ web.public_ipv4 }}"

- name: Stop serving an old domain
  seaworthy.digitalocean.domain:
    name: old.example.com
    state: absent
"""

RETURN = r"""
domain:
  description: The domain as the API returns it (empty when absent).
  returned: always
  type: dict
  sample:
    name: example.com
    ttl: 1800
    zone_file: |
      $ORIGIN example.com.
      $TTL 1800
      example.com. IN SOA ns1.digitalocean.com. hostmaster.example.com. 1415982609 10800 3600 604800 1800
      example.com. 1800 IN NS ns1.digitalocean.com.
"""

import ipaddress

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._networking import normal_domain


class DomainModule(DOModule):
    resource_key = "domain"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "name": {"type": "str", "required": True},
                "ip_address": {"type": "str"},
            },
        )

    def run(self):
        name = normal_domain(self.module, self.params["name"])
        ip = self.params["ip_address"]
        if ip:
            try:
                ip = str(ipaddress.IPv4Address(ip.strip()))
            except ValueError:
                self.module.fail_json(msg=f"domain {name}: ip_address {ip!r} is not an IPv4 address")
        current = self.client.fetch("domains.get", name)
        current = current["domain"] if current else None

        if self.params["state"] == "absent":
            self.diff({"name": name} if current else None, None)
            if current and not self.check_mode:
                self.client.request("domains.delete", name)
            return self.exit({})

        if current is not None:
            self.diff({"name": name}, {"name": name})
            return self.exit(current)
        planned = {"name": name}
        if ip:
            planned["ip_address"] = ip
        self.diff(None, planned)
        if self.check_mode:
            return self.exit({"name": name, "ttl": None, "zone_file": None})
        self.create_once(
            lambda: self.client.request("domains.create", planned, idempotent=False)["domain"],
            lambda: (self.client.fetch("domains.get", name) or {}).get("domain"),
            f"domain {name}",
        )
        return self.exit(self.client.request("domains.get", name)["domain"])


def main():
    DomainModule().execute()


if __name__ == "__main__":
    main()
