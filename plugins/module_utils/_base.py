# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every DigitalOcean module does the same way.

A module subclasses `DOModule`, declares `resource_key` (the singular name its
result carries the resource under) and writes `run()` in terms of:

- `self.client`: the shared `DOClient` (retries, pagination, waiting);
- `unique(...)`: identity by name (+ region) over every page, failing with
  the ids when two match;
- `create_once(...)`: a create that is never duplicated (a 5xx/timeout makes it
  look again before re-sending);
- `self.changed` / `diff(before, after)` / `exit(resource)`: the result,
  with `--diff` before/after, identical in and out of check mode;
- `api_failure(err, doing)`: DigitalOcean's `id`/`message`/`request_id` and the
  HTTP status as a clear failure, never a traceback.
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule

from ._client import DOApiError, DOClient, WriteUncertain, common_argument_spec

CREATE_ATTEMPTS = 3


def region_matches(requested, actual):
    """`nyc3` matches only nyc3; a bare `nyc` matches any nyc datacenter (nyc1, nyc3)."""
    if not requested:
        return True
    if requested == actual:
        return True
    return not requested[-1].isdigit() and actual.startswith(requested) and actual[len(requested) :].isdigit()


def region_slug(resource):
    region = resource.get("region")
    return region.get("slug") if isinstance(region, dict) else region


class DOModule:
    resource_key = "resource"

    def __init__(self, argument_spec, wait=False, wait_timeout=300, **module_kwargs):
        spec = common_argument_spec(wait=wait, wait_timeout=wait_timeout)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **module_kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.client = DOClient(self.module)
        self.changed = False
        self._before = None
        self._after = None

    # -- identity -------------------------------------------------------------
    def unique(self, items, what, name=None, region=None, name_key="name", extra=None):
        """The one item named `name` (in `region`, when given); None if none; fail when ambiguous."""
        matches = [
            item
            for item in items
            if item.get(name_key) == name
            and (region is None or region_matches(region, region_slug(item) or ""))
            and (extra is None or extra(item))
        ]
        if len(matches) > 1:
            where = f" in region {region}" if region else ""
            ids = ", ".join(str(m.get("id")) for m in matches)
            self.module.fail_json(
                msg=f"{what} name {name!r}{where} is ambiguous: {len(matches)} match (ids {ids}); use id to choose one"
            )
        return matches[0] if matches else None

    # -- writes ---------------------------------------------------------------
    def create_once(self, send, find_again, what):
        """Send a create; when its outcome is unknown (5xx, timeout), look before re-sending."""
        last = None
        for _attempt in range(CREATE_ATTEMPTS):
            try:
                return send()
            except WriteUncertain as err:
                last = err
                found = find_again()
                if found is not None:
                    return found
        self.api_failure(last, f"creating {what} (the API kept failing; it was looked up before every retry)")
        return None

    def api_failure(self, err, doing):
        self.module.fail_json(msg=f"{doing} failed: {err.describe()}", failure=err.as_dict())

    # -- result ---------------------------------------------------------------
    def diff(self, before, after):
        """Record the state before and after this run (for --diff); marks changed when they differ."""
        self._before = copy.deepcopy(before) if before is not None else {}
        self._after = copy.deepcopy(after) if after is not None else {}
        if self._before != self._after:
            self.changed = True

    def exit(self, resource=None, **extra):
        result = {"changed": self.changed, self.resource_key: resource if resource is not None else {}}
        if self._before is not None or self._after is not None:
            result["diff"] = {"before": self._before or {}, "after": self._after or {}}
        result.update(extra)
        self.module.exit_json(**result)

    def execute(self):
        """Run the module, turning API errors that escaped `run()` into clear failures."""
        try:
            self.run()
        except DOApiError as err:
            self.api_failure(err, f"{self.__class__.__name__} {self.resource_key}")

    def run(self):
        raise NotImplementedError
