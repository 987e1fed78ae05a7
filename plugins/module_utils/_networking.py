# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the networking modules (vpc, tag, project, domain, domain_record, reserved_ip)."""

from __future__ import annotations

import re

DOMAIN_RE = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normal_domain(module, value):
    """`Example.COM.` -> `example.com`; fail clearly for something that is not a domain name."""
    name = str(value or "").strip().lower().rstrip(".")
    if len(name) > 253 or not DOMAIN_RE.match(name):
        module.fail_json(msg=f"{value!r} is not a domain name (expected something like example.com)")
    return name


def list_filtered(client, operation, key, *args, **filters):
    """Every item of a paginated list narrowed by query filters, over every page.

    `DOClient.list_all`/`request` take the operation as their parameter `name`, so a
    `name=` filter (droplets, volumes, domain records) cannot go through them as a keyword;
    pydo also reads query parameters from `params`, which does not clash.
    """
    return client.list_all(operation, key, *args, params=dict(filters))
