#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain_record
short_description: Manage DNS records of a domain in DigitalOcean DNS
version_added: 0.1.0
description:
  - Makes a DNS record exist (or not) in a domain served by DigitalOcean, and keeps its data,
    TTL and type-specific fields as declared.
  - "Identity, with O(multiple=false) (default): the record of this O(type) and O(name); there must
    be at most one, and its O(data), O(ttl), O(priority), O(port), O(weight), O(flags) and O(tag)
    are updated in place. Several records of that type and name fail the task with their ids."
  - "With O(multiple=true) (round robin, several MX or NS records...): the record of this O(type),
    O(name) and O(data) (plus O(tag) for CAA and O(port) for SRV); V(present) adds it beside the
    others and V(absent) removes only it."
  - With O(id), the record with that id; O(name) then renames it when given, and O(data) and the
    type-specific fields keep their current values when not given.
  - Input is checked before any call that changes something, per type. A and AAAA data must be
    IPv4/IPv6 addresses; CNAME, MX, NS and SRV data must be a fully qualified host name (or V(@)
    for the domain itself) and are sent with the final dot DigitalOcean requires; MX needs
    O(priority), SRV needs O(priority), O(port) and O(weight), CAA needs O(flags) and O(tag);
    a field the type does not use is refused. A CNAME cannot sit at the apex nor share its name
    with another record.
options:
  state:
    description: Whether the record should exist.
    type: str
    choices: [present, absent]
    default: present
  domain:
    description: The domain the record belongs to (V(example.com)); it must exist.
    type: str
    required: true
  id:
    description: The record's numeric id; identity then ignores O(type), O(name) and O(data).
    type: int
  type:
    description: The record type. Required unless O(id) is given.
    type: str
    choices: [A, AAAA, CAA, CNAME, MX, NS, SRV, TXT]
  name:
    description:
      - The record's name relative to the domain (V(www), V(_sip._tcp)), or V(@) for the domain
        itself. A fully qualified name inside the domain (V(www.example.com) or
        V(www.example.com.)) is accepted and made relative.
      - Defaults to V(@) unless O(id) is given.
    type: str
  data:
    description:
      - The record's value. Required for V(present) and, with O(multiple=true), for V(absent).
      - An IPv4 address (A), an IPv6 address (AAAA), a fully qualified host name or V(@)
        (CNAME, MX, NS, SRV; with or without the final dot), free text (TXT), or the CAA value
        (V(letsencrypt.org), V(mailto:ops@example.com)).
    type: str
  ttl:
    description: Time to live in seconds (at least 30).
    type: int
    default: 1800
  priority:
    description: Priority of an MX or SRV record (0-65535).
    type: int
  port:
    description: Port of an SRV record (1-65535).
    type: int
  weight:
    description: Weight of an SRV record (0-65535).
    type: int
  flags:
    description: Flags of a CAA record (0-255, usually 0).
    type: int
  tag:
    description: Tag of a CAA record.
    type: str
    choices: [issue, issuewild, iodef]
  multiple:
    description:
      - V(false) - one record of this type and name, updated in place.
      - V(true) - one of several records of this type and name, identified by its data.
    type: bool
    default: false
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: The application's address
  seaworthy.digitalocean.domain_record:
    domain: example.com
    type: A
    name: app
    data: "{{ web.public_ipv4 }}"
    ttl: 300

- name: www follows the apex
  seaworthy.digitalocean.domain_record:
    domain: example.com
    type: CNAME
    name: www
    data: "@"

- name: Two mail exchangers
  seaworthy.digitalocean.domain_record:
    domain: example.com
    type: MX
    name: "@"
    data: "{{ item.host }}"
    priority: "{{ item.priority }}"
    multiple: true
  loop:
    - {host: mx1.mail.example.net, priority: 10}
    - {host: mx2.mail.example.net, priority: 20}

- name: Only Let's Encrypt may issue certificates
  seaworthy.digitalocean.domain_record:
    domain: example.com
    type: CAA
    data: letsencrypt.org
    flags: 0
    tag: issue
    multiple: true

- name: Remove one address of a round robin
  seaworthy.digitalocean.domain_record:
    domain: example.com
    type: A
    name: app
    data: 203.0.113.11
    multiple: true
    state: absent
"""

RETURN = r"""
record:
  description: The record as the API returns it (empty when absent).
  returned: always
  type: dict
  sample:
    id: 28448433
    type: A
    name: app
    data: 203.0.113.10
    priority: null
    port: null
    ttl: 300
    weight: null
    flags: null
    tag: null
"""

import ipaddress
import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._client import DOApiError
from ansible_collections.seaworthy.digitalocean.plugins.module_utils._networking import list_filtered, normal_domain

HOST_TYPES = ("CNAME", "MX", "NS", "SRV")
# Type-specific fields: each type needs exactly these (and refuses the others).
FIELDS_OF = {
    "A": (),
    "AAAA": (),
    "CNAME": (),
    "NS": (),
    "TXT": (),
    "MX": ("priority",),
    "SRV": ("priority", "port", "weight"),
    "CAA": ("flags", "tag"),
}
RANGES = {"priority": (0, 65535), "port": (1, 65535), "weight": (0, 65535), "flags": (0, 255)}
OPTIONAL = ("priority", "port", "weight", "flags", "tag")
MIN_TTL = 30
LABEL = r"(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)"
NAME_RE = re.compile(rf"^{LABEL}(\.{LABEL})*$")


class DomainRecordModule(DOModule):
    resource_key = "record"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "domain": {"type": "str", "required": True},
                "id": {"type": "int"},
                "type": {"type": "str", "choices": list(FIELDS_OF)},
                "name": {"type": "str"},
                "data": {"type": "str"},
                "ttl": {"type": "int", "default": 1800},
                "priority": {"type": "int"},
                "port": {"type": "int"},
                "weight": {"type": "int"},
                "flags": {"type": "int"},
                "tag": {"type": "str", "choices": ["issue", "issuewild", "iodef"]},
                "multiple": {"type": "bool", "default": False},
            },
            required_one_of=[("id", "type")],
        )
        self.domain = normal_domain(self.module, self.params["domain"])

    # -- normal forms ---------------------------------------------------------------
    def fail(self, msg):
        self.module.fail_json(msg=f"{self.describe()}: {msg}")

    def describe(self):
        what = self.params["type"] or "record"
        if self.params["id"] is not None:
            return f"{what} record {self.params['id']} of {self.domain}"
        return f"{what} record {self.params['name'] or '@'!r} of {self.domain}"

    def normal_name(self, value):
        """Relative record name: `@`, `www`, `_sip._tcp`; an FQDN inside the domain is shortened."""
        name = str(value).strip().lower()
        domain = self.domain
        if name in ("@", domain, f"{domain}."):
            return "@"
        if name.endswith(f".{domain}."):
            name = name[: -len(domain) - 2]
        elif name.endswith(f".{domain}"):
            name = name[: -len(domain) - 1]
        elif name.endswith("."):
            self.module.fail_json(msg=f"record name {value!r} is not inside domain {domain}")
        if not name or len(name) > 253 or not NAME_RE.match(name):
            self.module.fail_json(
                msg=f"record name {value!r} is invalid: use @ or labels of letters, digits, '-', '_' (and a leading '*')"
            )
        return name

    def normal_host(self, value, strict=True):
        """A host name in `data` as the API shows it: lower case, no final dot, `@` for the domain itself."""
        host = str(value).strip().lower()
        if host == "@":
            return "@"
        if host.endswith("."):
            host = host[:-1]
        if host == self.domain:
            return "@"
        if strict and ("." not in host or not NAME_RE.match(host) or "*" in host):
            self.fail(
                f"data {value!r} must be a fully qualified host name (such as mail.example.com) or @ for {self.domain}"
            )
        return host

    def normal_data(self, rtype, value, strict=True):
        if value is None:
            return None
        if rtype in ("A", "AAAA"):
            try:
                address = ipaddress.ip_address(str(value).strip())
            except ValueError:
                address = None
            version = 4 if rtype == "A" else 6
            if address is None or address.version != version:
                if strict:
                    self.fail(f"data {value!r} is not an IPv{version} address")
                return value
            return str(address)
        if rtype in HOST_TYPES:
            return self.normal_host(value, strict)
        return value

    # -- what is asked ----------------------------------------------------------------
    def wanted(self, rtype, present):
        """The declared fields in the API's form, checked; None values where a type has no such field."""
        params = self.params
        fields = FIELDS_OF[rtype]
        for field in OPTIONAL:
            if params[field] is not None and field not in fields:
                users = ", ".join(t for t, f in FIELDS_OF.items() if field in f)
                self.fail(f"{field} is not used by {rtype} records (only by {users})")
        if params["ttl"] < MIN_TTL:
            self.fail(f"ttl must be at least {MIN_TTL} seconds, got {params['ttl']}")
        wanted = {"type": rtype, "data": self.normal_data(rtype, params["data"]), "ttl": params["ttl"]}
        for field in OPTIONAL:
            wanted[field] = params[field] if field in fields else None
        if present:
            missing = [f for f in ("data", *fields) if params[f] is None]
            if missing:
                self.fail(f"{rtype} records need {' and '.join(missing)}")
            if params["data"] is not None and not str(params["data"]).strip():
                self.fail("data must not be empty")
            for field, (low, high) in RANGES.items():
                value = params[field]
                if value is not None and not low <= value <= high:
                    self.fail(f"{field} must be from {low} to {high}, got {value}")
        return wanted

    def key(self, record):
        """What tells records of one type and name apart with multiple=true."""
        rtype = record["type"]
        data = self.normal_data(rtype, record.get("data"), strict=False)
        return (data, record.get("tag") if rtype == "CAA" else None, record.get("port") if rtype == "SRV" else None)

    # -- API ----------------------------------------------------------------------------
    def fqdn(self, name):
        return self.domain if name == "@" else f"{name}.{self.domain}"

    def records_named(self, name):
        """Every record of `name` (all types: a CNAME conflicts with any of them), over every page."""
        try:
            return list_filtered(
                self.client, "domains.list_records", "domain_records", self.domain, name=self.fqdn(name)
            )
        except DOApiError as err:
            if err.status == 404:
                self.module.fail_json(
                    msg=f"domain {self.domain} does not exist in the account (create it with seaworthy.digitalocean.domain)",
                    failure=err.as_dict(),
                )
            raise

    def send_body(self, wanted, name):
        """A create body: every field present (null when unused), as the spec requires per type."""
        body = {"type": wanted["type"], "name": name, "data": self.sent_data(wanted), "ttl": wanted["ttl"]}
        for field in OPTIONAL:
            body[field] = wanted[field]
        return body

    def sent_data(self, wanted):
        data = wanted["data"]
        if wanted["type"] in HOST_TYPES and data != "@":
            return f"{data}."
        return data

    def view(self, record):
        if not record:
            return {}
        rtype = record["type"]
        shown = {
            "domain": self.domain,
            "type": rtype,
            "name": record["name"],
            "data": self.normal_data(rtype, record.get("data"), strict=False),
            "ttl": record.get("ttl"),
        }
        for field in FIELDS_OF.get(rtype, ()):
            shown[field] = record.get(field)
        return shown

    # -- main ---------------------------------------------------------------------------
    def run(self):
        if self.params["id"] is not None:
            return self.run_by_id()
        rtype = self.params["type"]
        name = self.normal_name(self.params["name"] if self.params["name"] is not None else "@")
        present = self.params["state"] == "present"
        multiple = self.params["multiple"]
        if multiple and self.params["data"] is None:
            self.fail("multiple: true identifies a record by its data: give data")
        if present and rtype == "CNAME" and name == "@":
            self.fail("a CNAME record cannot be at the domain apex (@)")
        if present and rtype == "CNAME" and multiple:
            self.fail("a name can have only one CNAME record; use multiple: false")
        wanted = self.wanted(rtype, present)

        named = self.records_named(name)
        same_type = [r for r in named if r["type"] == rtype]
        matches = [r for r in same_type if self.key(r) == self.key(wanted)] if multiple else same_type
        if len(matches) > 1 and not (multiple and not present):
            listing = ", ".join(f"{r['id']} ({r.get('data')})" for r in matches)
            hint = "" if multiple else "; set multiple: true and give data to manage one of them"
            self.fail(f"{len(matches)} records match (ids {listing}){hint}")

        if not present:
            self.diff(
                [self.view(r) for r in matches] if len(matches) > 1 else self.view(matches[0] if matches else None),
                None,
            )
            if not self.check_mode:
                for record in matches:
                    self.client.request("domains.delete_record", self.domain, record["id"])
            return self.exit({})

        if not matches:
            return self.create(wanted, name, named)
        return self.update(matches[0], wanted)

    def run_by_id(self):
        record = self.client.fetch("domains.get_record", self.domain, self.params["id"])
        if record is None:
            # A missing domain answers 404 too: say which one is missing.
            if self.client.fetch("domains.get", self.domain) is None:
                self.module.fail_json(msg=f"domain {self.domain} does not exist in the account")
            if self.params["state"] == "absent":
                self.diff(None, None)
                return self.exit({})
            self.fail("does not exist (a record cannot be created with a chosen id; give type and name instead)")
        record = record["domain_record"]
        if self.params["type"] and self.params["type"] != record["type"]:
            self.fail(f"is a {record['type']} record; a record's type cannot change (delete it and create another)")
        self.params["type"] = record["type"]
        if self.params["state"] == "absent":
            self.diff(self.view(record), None)
            if not self.check_mode:
                self.client.request("domains.delete_record", self.domain, record["id"])
            return self.exit({})
        for field in ("data", *FIELDS_OF[record["type"]]):  # what is not given stays as it is
            if self.params[field] is None:
                self.params[field] = record.get(field)
        wanted = self.wanted(record["type"], True)
        if self.params["name"] is not None:
            wanted["name"] = self.normal_name(self.params["name"])
        return self.update(record, wanted)

    def create(self, wanted, name, named):
        rtype = wanted["type"]
        conflicts = [r for r in named if (rtype == "CNAME") != (r["type"] == "CNAME")]
        if conflicts:
            other = conflicts[0]
            self.fail(
                f"conflicts with the {other['type']} record {other['id']} of that name: "
                "a CNAME cannot share its name with any other record"
            )
        body = self.send_body(wanted, name)
        planned = dict(body, id=None, data=wanted["data"])
        self.diff(None, self.view(planned))
        if self.check_mode:
            return self.exit(planned)
        created = self.create_once(
            lambda: self.client.request("domains.create_record", self.domain, body, idempotent=False)["domain_record"],
            lambda: self.found_again(wanted, name),
            self.describe(),
        )
        return self.exit(created)

    def found_again(self, wanted, name):
        """After an unanswered create: the record it made, when it made one."""
        same = [r for r in self.records_named(name) if r["type"] == wanted["type"]]
        if self.params["multiple"]:
            same = [r for r in same if self.key(r) == self.key(wanted)]
        return same[0] if same else None

    def update(self, record, wanted):
        rtype = record["type"]
        patch = {}
        current_data = self.normal_data(rtype, record.get("data"), strict=False)
        if wanted["data"] is not None and wanted["data"] != current_data:
            patch["data"] = self.sent_data(wanted)
        if wanted.get("name") and wanted["name"] != record["name"]:
            patch["name"] = wanted["name"]
        if wanted["ttl"] != record.get("ttl"):
            patch["ttl"] = wanted["ttl"]
        for field in FIELDS_OF[rtype]:
            if wanted[field] is not None and wanted[field] != record.get(field):
                patch[field] = wanted[field]
        after = dict(record, **patch)
        if "data" in patch:
            after["data"] = wanted["data"]
        self.diff(self.view(record), self.view(after))
        if not patch or self.check_mode:
            return self.exit(after)
        updated = self.client.request("domains.patch_record", self.domain, record["id"], dict(patch, type=rtype))[
            "domain_record"
        ]
        return self.exit(updated)


def main():
    DomainRecordModule().execute()


if __name__ == "__main__":
    main()
