# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cross-resource helpers: tags, projects, and resolving references by id or name.

DigitalOcean attaches tags and project membership to resources through their
own endpoints (`/v2/tags/{tag}/resources`, `/v2/projects/{id}/resources`), so
every module that offers `tags` or `project` reconciles them the same way:
read once, change only the difference, nothing under check mode.
"""

from __future__ import annotations

import re

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def is_uuid(value):
    return bool(UUID_RE.match(str(value or "")))


def reconcile_tags(client, resource_type, resource_id, current, wanted, purge, check_mode):
    """Tag/untag one resource so its tags are `wanted` (plus `current` extras unless `purge`).

    Returns the resulting tag list. Tags are created on first use, as the API requires.
    """
    current = list(current or [])
    wanted = list(dict.fromkeys(wanted or []))
    result = wanted if purge else current + [t for t in wanted if t not in current]
    add = [t for t in result if t not in current]
    remove = [t for t in current if t not in result]
    if check_mode:
        return result
    body = {"resources": [{"resource_id": str(resource_id), "resource_type": resource_type}]}
    for tag in add:
        if client.fetch("tags.get", tag) is None:
            client.request("tags.create", {"name": tag})
        client.request("tags.assign_resources", tag, body)
    for tag in remove:
        client.request("tags.unassign_resources", tag, body)
    return result


def find_project(client, module, ref):
    """A project by id or name (None when `ref` is empty); fail clearly when unknown or ambiguous."""
    if not ref:
        return None
    projects = client.list_all("projects.list", "projects")
    matches = [p for p in projects if ref in (p["id"], p["name"])]
    if not matches:
        module.fail_json(msg=f"project {ref!r} not found (projects: {', '.join(sorted(p['name'] for p in projects))})")
    if len(matches) > 1:
        module.fail_json(
            msg=f"project name {ref!r} is ambiguous (ids {', '.join(p['id'] for p in matches)}); use its id"
        )
    return matches[0]


def ensure_in_project(client, project, urn, check_mode):
    """Assign `urn` to `project` unless it is there already; True when it had to move."""
    if project is None:
        return False
    members = client.list_all("projects.list_resources", "resources", project["id"])
    if any(m.get("urn") == urn for m in members):
        return False
    if not check_mode:
        client.request("projects.assign_resources", project["id"], {"resources": [urn]})
    return True


def resolve_vpc(client, module, ref, region=None):
    """A VPC by id or name (+ region); None when `ref` is empty."""
    if not ref:
        return None
    vpcs = client.list_all("vpcs.list", "vpcs")
    matches = [v for v in vpcs if ref in (v["id"], v["name"]) and (region is None or v["region"] == region)]
    if not matches:
        where = f" in region {region}" if region else ""
        module.fail_json(msg=f"VPC {ref!r} not found{where}")
    if len(matches) > 1:
        module.fail_json(msg=f"VPC name {ref!r} is ambiguous (ids {', '.join(v['id'] for v in matches)}); use its id")
    return matches[0]


def resolve_ssh_keys(client, module, refs):
    """SSH key references (ids, fingerprints or names) as the ids/fingerprints the API takes."""
    if not refs:
        return []
    keys = None
    resolved = []
    for ref in refs:
        text = str(ref).strip()
        if text.isdigit() or re.match(r"^([0-9a-f]{2}:){15}[0-9a-f]{2}$", text):
            resolved.append(int(text) if text.isdigit() else text)
            continue
        if keys is None:
            keys = client.list_all("ssh_keys.list", "ssh_keys")
        named = [k for k in keys if k["name"] == text]
        if len(named) != 1:
            problem = "no SSH key" if not named else f"{len(named)} SSH keys"
            module.fail_json(msg=f"ssh_keys: {problem} named {text!r} in the account; give its id or fingerprint")
        resolved.append(named[0]["id"])
    return resolved
