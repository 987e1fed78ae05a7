#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cdn_endpoint
short_description: Manage DigitalOcean CDN endpoints in front of Spaces buckets
version_added: 0.1.0
description:
  - Makes a CDN endpoint exist for a Spaces bucket (its origin), with the declared cache TTL and,
    optionally, a custom domain served with a DigitalOcean-managed certificate.
  - Identity is O(id) when given, else the origin (O(origin), or O(bucket) in O(region)); an origin has at
    most one endpoint.
  - TTL, custom domain and certificate are updated in place; the origin cannot change.
options:
  state:
    description: Whether the endpoint should exist.
    type: str
    choices: [present, absent]
    default: present
  id:
    description: The endpoint's id (UUID).
    type: str
  origin:
    description: The bucket's host name, V(<bucket>.<region>.digitaloceanspaces.com).
    type: str
  bucket:
    description: The bucket's name; with O(region), another way to give O(origin).
    type: str
  region:
    description: The bucket's region (V(nyc3)), with O(bucket).
    type: str
  ttl:
    description: Seconds the edge caches content; V(3600) at creation when omitted, kept as it is otherwise.
    type: int
    choices: [60, 600, 3600, 86400, 604800]
  custom_domain:
    description:
      - A subdomain (V(media.example.com)) the endpoint also answers on; needs O(certificate).
      - An empty string removes the custom domain (the certificate id stays recorded). Kept as it is when omitted.
    type: str
  certificate:
    description: The certificate (id or name) for O(custom_domain); it must cover that name.
    type: str
extends_documentation_fragment:
  - seaworthy.digitalocean.common
  - seaworthy.digitalocean.common.attributes
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: A CDN in front of MA Electrical's photo bucket
  seaworthy.digitalocean.cdn_endpoint:
    bucket: ma-electrical-photos
    region: sgp1
    ttl: 86400
    custom_domain: photos.ma-electrical.example
    certificate: photos-ma-electrical
  register: cdn
"""

RETURN = r"""
endpoint:
  description: The endpoint as the API returns it; empty when absent.
  returned: always
  type: dict
  sample:
    id: 19f06b6a-3ace-4315-b086-499a0e521b76
    origin: ma-electrical-photos.sgp1.digitaloceanspaces.com
    endpoint: ma-electrical-photos.sgp1.cdn.digitaloceanspaces.com
    ttl: 86400
    custom_domain: photos.ma-electrical.example
    certificate_id: 892071a0-bb95-49bc-8021-3afd67a210bf
    created_at: "2025-03-13T19:20:47Z"
"""

import re

from ansible_collections.seaworthy.digitalocean.plugins.module_utils._base import DOModule

ORIGIN_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\.[a-z]{3}\d\.digitaloceanspaces\.com$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def view(endpoint):
    if not endpoint:
        return {}
    return {
        "origin": endpoint.get("origin"),
        "ttl": endpoint.get("ttl"),
        "custom_domain": endpoint.get("custom_domain") or "",
        "certificate_id": endpoint.get("certificate_id") or "",
    }


class CdnEndpointModule(DOModule):
    resource_key = "endpoint"

    def __init__(self):
        super().__init__(
            {
                "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
                "id": {"type": "str"},
                "origin": {"type": "str"},
                "bucket": {"type": "str"},
                "region": {"type": "str"},
                "ttl": {"type": "int", "choices": [60, 600, 3600, 86400, 604800]},
                "custom_domain": {"type": "str"},
                "certificate": {"type": "str"},
            },
            required_one_of=[("id", "origin", "bucket")],
            mutually_exclusive=[("origin", "bucket")],
            required_together=[("bucket", "region")],
        )

    def wanted_origin(self):
        origin = self.params["origin"]
        if self.params["bucket"]:
            origin = f"{self.params['bucket']}.{self.params['region']}.digitaloceanspaces.com"
        if origin is not None:
            origin = origin.strip().lower().rstrip(".")
            if not ORIGIN_RE.match(origin):
                self.module.fail_json(
                    msg=f"origin {origin!r} is not a Spaces bucket host name (<bucket>.<region>.digitaloceanspaces.com)"
                )
        return origin

    def wanted_domain(self):
        domain = self.params["custom_domain"]
        if domain is None:
            return None
        domain = domain.strip().lower().rstrip(".")
        if domain and not HOST_RE.match(domain):
            self.module.fail_json(msg=f"custom_domain {domain!r} is not a fully qualified host name")
        if domain and not self.params["certificate"]:
            self.module.fail_json(
                msg=f"custom_domain {domain!r} needs certificate (the id or name of a certificate covering it)"
            )
        return domain

    def resolve_certificate(self):
        ref = self.params["certificate"]
        if not ref:
            return None
        certificates = self.client.list_all("certificates.list", "certificates")
        matches = [c for c in certificates if ref in (c["id"], c["name"])]
        if not matches:
            self.module.fail_json(msg=f"certificate {ref!r} not found")
        if len(matches) > 1:
            self.module.fail_json(
                msg=f"certificate name {ref!r} is ambiguous (ids {', '.join(c['id'] for c in matches)}); use its id"
            )
        return matches[0]

    def run(self):
        origin = self.wanted_origin()
        domain = self.wanted_domain()
        endpoints = self.client.list_all("cdn.list_endpoints", "endpoints")
        if self.params["id"]:
            current = next((e for e in endpoints if e["id"] == self.params["id"]), None)
        else:
            current = next((e for e in endpoints if e["origin"] == origin), None)
        if self.params["state"] == "absent":
            self.diff(view(current), None)
            if current and not self.check_mode:
                self.client.request("cdn.delete_endpoint", current["id"])
            return self.exit({})

        certificate = self.resolve_certificate()
        if certificate and domain and certificate.get("dns_names") and domain not in certificate["dns_names"]:
            self.module.fail_json(
                msg=f"certificate {certificate['name']} covers {', '.join(certificate['dns_names'])}, not {domain}"
            )
        if current is None:
            if self.params["id"]:
                self.module.fail_json(msg=f"CDN endpoint {self.params['id']} does not exist")
            body = {"origin": origin, "ttl": self.params["ttl"] or 3600}
            if domain:
                body.update(custom_domain=domain, certificate_id=certificate["id"])
            self.diff(None, view(body))
            if self.check_mode:
                return self.exit(body)
            created = self.create_once(
                lambda: self.client.request("cdn.create_endpoint", body, idempotent=False)["endpoint"],
                lambda: next(
                    (e for e in self.client.list_all("cdn.list_endpoints", "endpoints") if e["origin"] == origin), None
                ),
                f"CDN endpoint for {origin}",
            )
            return self.exit(created)

        if origin and origin != current["origin"]:
            self.module.fail_json(
                msg=f"CDN endpoint {current['id']} serves {current['origin']}; its origin cannot change to {origin}. Delete it and create another."
            )
        change = {}
        if self.params["ttl"] is not None and self.params["ttl"] != current.get("ttl"):
            change["ttl"] = self.params["ttl"]
        if domain is not None and domain != (current.get("custom_domain") or ""):
            change["custom_domain"] = domain
        # Removing the custom domain leaves the certificate id alone: the API takes no empty id.
        if certificate and certificate["id"] != (current.get("certificate_id") or ""):
            change["certificate_id"] = certificate["id"]
        after = dict(current, **change)
        self.diff(view(current), view(after))
        if self.check_mode or not change:
            return self.exit(after)
        updated = self.client.request("cdn.update_endpoints", current["id"], change)["endpoint"]
        return self.exit(updated)


def main():
    CdnEndpointModule().execute()


if __name__ == "__main__":
    main()
