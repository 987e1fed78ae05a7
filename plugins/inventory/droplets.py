# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: droplets
short_description: DigitalOcean droplets as hosts, grouped by project, environment, role, region, size, tag and VPC
version_added: 0.1.0
description:
  - Lists the account's droplets through the same client as the collection's modules (token, API URL, TLS,
    retries honouring C(Retry-After)) and turns each into a host.
  - One list call per 200 droplets (plus, with O(project), one call per 200 resources of each project, and one
    list of projects when a project is named rather than given by id). None at all while the inventory cache is warm.
  - "Groups follow the collection's tag convention: a droplet tagged C(project:freshtrack), C(env:production)
    and C(role:web) lands in the groups C(project_freshtrack), C(env_production) and C(role_web). Every other
    tag becomes a C(tag_<tag>) group, and the droplet's region, size and VPC give C(region_nyc3),
    C(size_s_1vcpu_1gb) and C(vpc_<uuid>). These come from the default O(keyed_groups); set O(keyed_groups)
    to replace them."
  - The configuration file's name must end with C(droplets.yml), C(droplets.yaml), C(digitalocean.yml) or
    C(digitalocean.yaml).
  - Errors (a refused token, an API that does not answer, pydo missing) stop the inventory with one line
    saying what is wrong. Set C(ANSIBLE_INVENTORY_UNPARSED_FAILED=true) so that a failed source fails the run.
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks the file as this plugin's configuration.
    type: str
    required: true
    choices: [seaworthy.digitalocean.droplets]
  token:
    description:
      - DigitalOcean API token (read scope is enough).
      - Read from the environment variables E(DIGITALOCEAN_TOKEN), E(DIGITALOCEAN_ACCESS_TOKEN) or
        E(DO_API_TOKEN), in that order of preference, when not given.
      - May be a template, for example V({{ lookup('ansible.builtin.env', 'MY_DO_TOKEN') }}).
    type: str
    aliases: [api_token, oauth_token]
    env:
      - name: DO_API_TOKEN
      - name: DIGITALOCEAN_ACCESS_TOKEN
      - name: DIGITALOCEAN_TOKEN
  api_url:
    description:
      - Base URL of the DigitalOcean API. Point it at a local emulator for tests.
    type: str
    default: https://api.digitalocean.com
    env:
      - name: DIGITALOCEAN_API_URL
  validate_certs:
    description:
      - Verify the API's TLS certificate. Extra CAs come from E(REQUESTS_CA_BUNDLE).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for one HTTP answer before the request counts as failed (and is retried).
    type: int
    default: 30
  retry_max_time:
    description:
      - Seconds the plugin may spend waiting between retries (429 answers, 5xx answers, network errors) before it
        gives up with the last error.
    type: int
    default: 60
  tag_name:
    description:
      - Only droplets carrying this tag, filtered by the API (fewer and smaller pages).
      - Cannot be combined with O(name); the API refuses that.
    type: str
  name:
    description:
      - Only droplets with exactly this name, filtered by the API.
    type: str
  project:
    description:
      - Only droplets in these DigitalOcean projects, each given by id or by name.
      - Costs one call per 200 resources of each project, plus one list of the projects when one is named.
      - Each droplet then carries the entry of this list it matched (name or id) as C(<var_prefix>project).
    type: list
    elements: str
    default: []
  filters:
    description:
      - Jinja2 expressions evaluated for each droplet with its variables (all C(<var_prefix>*) attributes, whatever
        O(attributes) keeps, and C(ansible_host)); a droplet becomes a host only when every expression is true.
      - An expression that fails to evaluate excludes the droplet, or stops the inventory when O(strict=true).
    type: list
    elements: str
    default: []
  host_address:
    description:
      - What C(ansible_host) is set to.
      - V(public_ipv4) (default) for a controller on the internet.
      - V(private_ipv4) for a controller inside the droplets' VPC, for example AWX running on DigitalOcean.
      - V(public_ipv6), or V(name) to connect by the droplet's name (resolved by DNS or SSH configuration).
      - A droplet without that address (still booting, or without IPv6) gets no C(ansible_host) and a warning.
    type: str
    choices: [public_ipv4, private_ipv4, public_ipv6, name]
    default: public_ipv4
  hostname_template:
    description:
      - Jinja2 template for the inventory host name, evaluated with the droplet's variables,
        for example V({{ do_name }}.{{ do_region }}).
      - Default the droplet's name.
      - Droplets that would share a host name are all named C(<name>-<id>) instead, with a warning, so that no
        droplet is ever hidden behind another one's name.
    type: str
  var_prefix:
    description:
      - Prefix of the host variables set from the droplet's attributes (C(id) becomes C(do_id)).
      - The default O(keyed_groups) follow it.
    type: str
    default: do_
  attributes:
    description:
      - The droplet attributes set as host variables, under O(var_prefix).
      - V(region) and V(size) are slugs (V(nyc3), V(s-1vcpu-1gb)); V(image) is its C(id), C(slug), C(name) and
        C(distribution); V(public_ipv4), V(private_ipv4) and V(public_ipv6) are the droplet's first address of
        each kind; V(project) is set only with O(project), to the entry the droplet matched. The others are as the API returns them.
      - O(compose), O(groups), O(keyed_groups), O(filters) and O(hostname_template) see every attribute, whatever
        this list keeps.
    type: list
    elements: str
    choices:
      - id
      - name
      - region
      - size
      - image
      - tags
      - networks
      - vpc_uuid
      - status
      - created_at
      - features
      - public_ipv4
      - private_ipv4
      - public_ipv6
      - project
      - memory
      - vcpus
      - disk
      - locked
      - kernel
      - volume_ids
      - backup_ids
      - snapshot_ids
      - next_backup_window
    default:
      - id
      - name
      - region
      - size
      - image
      - tags
      - networks
      - vpc_uuid
      - status
      - created_at
      - features
      - public_ipv4
      - private_ipv4
      - public_ipv6
      - project
  keyed_groups:
    description:
      - Add hosts to groups based on the values of a variable.
      - The default builds the groups C(project_*), C(env_*), C(role_*) (from C(project:*), C(env:*) and C(role:*)
        tags), C(region_*), C(size_*), C(tag_*) (from every other tag) and C(vpc_*). With a different
        O(var_prefix) the default uses it in place of C(do_).
      - Setting this option replaces the default; copy the entries you want to keep.
    type: list
    elements: dict
    default:
      - prefix: project
        key: "do_tags | select('match', 'project:') | map('regex_replace', '^project:', '') | list"
      - prefix: env
        key: "do_tags | select('match', 'env:') | map('regex_replace', '^env:', '') | list"
      - prefix: role
        key: "do_tags | select('match', 'role:') | map('regex_replace', '^role:', '') | list"
      - prefix: region
        key: do_region
      - prefix: size
        key: do_size
      - prefix: tag
        key: "do_tags | reject('match', '(project|env|role):') | list"
      - prefix: vpc
        key: do_vpc_uuid
    suboptions:
      parent_group:
        type: str
        description: Parent group for the keyed group.
      prefix:
        type: str
        description: A keyed group name will start with this prefix.
        default: ''
      separator:
        type: str
        description: Separator used to build the keyed group name.
        default: "_"
      key:
        type: str
        description:
          - The key from input dictionary used to generate groups.
      default_value:
        description:
          - The default value when the host variable's value is V(None) or an empty string.
          - This option is mutually exclusive with O(keyed_groups[].trailing_separator).
        type: str
      trailing_separator:
        description:
          - Set this option to V(false) to omit the O(keyed_groups[].separator) after the host variable when the
            value is V(None) or an empty string.
          - This option is mutually exclusive with O(keyed_groups[].default_value).
        type: bool
        default: true
requirements:
  - pydo >= 0.44
notes:
  - Requests answered 429 are retried after the time the API asks for (C(Retry-After)); 5xx answers and network
    errors are retried with exponential backoff, for at most O(retry_max_time) seconds in all.
  - Host names are the droplets' names, so they are valid inventory names; group names are sanitized
    (characters other than letters, digits and C(_) become C(_)).
seealso:
  - name: Inventory and AWX setup
    description: Example configurations and the AWX inventory source and credential type.
    link: https://github.com/seaworthy/seaworthy.digitalocean/blob/main/docs/inventory.md
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
---
# inventories/production/digitalocean.yml -- every droplet of the account, default groups
plugin: seaworthy.digitalocean.droplets

---
# One project's production droplets, reached over the VPC (AWX running on DigitalOcean)
plugin: seaworthy.digitalocean.droplets
project: [FreshTrack Pro]
tag_name: env:production
host_address: private_ipv4
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/seaworthy-inventory
cache_timeout: 300

---
# Only running droplets in Frankfurt, with extra variables and groups
plugin: seaworthy.digitalocean.droplets
filters:
  - do_status == 'active'
  - do_region.startswith('fra')
compose:
  ansible_user: "'deploy'"
  distro: do_image.distribution | lower
groups:
  big: do_size is match('s-[4-9]vcpu')
"""

import hashlib
import json

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

try:  # ansible-core 2.19+ templates only trusted strings; before, every string was a template
    from ansible.template import trust_as_template
except ImportError:

    def trust_as_template(value):
        return value


from ansible_collections.seaworthy.digitalocean.plugins.module_utils._resources import is_uuid

CONFIG_SUFFIXES = ("droplets.yml", "droplets.yaml", "digitalocean.yml", "digitalocean.yaml")
# The tag convention (DESIGN.md): `key:value` tags name the project, environment and role.
LABELS = ("project", "env", "role")
PASSTHROUGH = (
    "id",
    "name",
    "tags",
    "networks",
    "vpc_uuid",
    "status",
    "created_at",
    "features",
    "memory",
    "vcpus",
    "disk",
    "locked",
    "kernel",
    "volume_ids",
    "backup_ids",
    "snapshot_ids",
    "next_backup_window",
)


def default_keyed_groups(prefix):
    """The documented default of `keyed_groups`, for host variables under `prefix`."""
    groups = [
        {
            "prefix": label,
            "key": f"{prefix}tags | select('match', '{label}:') | map('regex_replace', '^{label}:', '') | list",
        }
        for label in LABELS
    ]
    groups += [
        {"prefix": "region", "key": f"{prefix}region"},
        {"prefix": "size", "key": f"{prefix}size"},
        {"prefix": "tag", "key": f"{prefix}tags | reject('match', '({'|'.join(LABELS)}):') | list"},
        {"prefix": "vpc", "key": f"{prefix}vpc_uuid"},
    ]
    for group in groups:
        group["key"] = trust_as_template(group["key"])
    return groups


def _address(networks, family, kind):
    for network in (networks or {}).get(family) or []:
        if network.get("type") == kind and network.get("ip_address"):
            return network["ip_address"]
    return None


def _slug(value):
    return value.get("slug") if isinstance(value, dict) else value


def droplet_record(droplet, project=None):
    """What the inventory keeps of a droplet (and caches): every attribute it can set, unprefixed."""
    record = {key: droplet.get(key) for key in PASSTHROUGH}
    image = droplet.get("image") or {}
    networks = droplet.get("networks") or {}
    record.update(
        region=_slug(droplet.get("region")),
        size=droplet.get("size_slug") or _slug(droplet.get("size")),
        image={key: image.get(key) for key in ("id", "slug", "name", "distribution")},
        public_ipv4=_address(networks, "v4", "public"),
        private_ipv4=_address(networks, "v4", "private"),
        public_ipv6=_address(networks, "v6", "public"),
    )
    if project is not None:
        record["project"] = project
    return record


def one_line(text):
    return " ".join(str(text).split())


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "seaworthy.digitalocean.droplets"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(CONFIG_SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        if self.get_option("tag_name") and self.get_option("name"):
            raise AnsibleParserError(f"{path}: tag_name and name cannot be combined (the API filters by one of them)")
        prefix = self.get_option("var_prefix")
        # The default keyed groups are computed natively: the same groups as the documented Jinja
        # entries (default_keyed_groups), without compiling seven expressions per droplet.
        keyed_groups = self.get_option("keyed_groups") if "keyed_groups" in config else None

        cache_key = self._cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        records = None
        if use_cache:
            try:
                records = self._cache[cache_key]
            except KeyError:
                update_cache = True
        if records is None:
            records = self._fetch()
        if update_cache:
            self._cache[cache_key] = records
        self._populate(records, prefix, keyed_groups)

    # -- the API ---------------------------------------------------------------
    def _cache_key(self, path):
        """Per configuration file and per question asked: another API, tag or project is another entry."""
        query = [self.get_option(o) for o in ("api_url", "tag_name", "name", "project")]
        digest = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.get_cache_key(path)}_{digest}"

    def _fetch(self):
        # Imported here: pydo takes a second to import, which a warm cache never needs.
        from ansible_collections.seaworthy.digitalocean.plugins.module_utils._client import DOApiError
        from ansible_collections.seaworthy.digitalocean.plugins.module_utils._plugin_client import (
            PluginClient,
            PluginClientError,
        )

        api_url = self.get_option("api_url")
        try:
            token = self.get_option("token")
            if token:
                token = self.templar.template(token)
            client = PluginClient(
                token=token,
                api_url=api_url,
                validate_certs=self.get_option("validate_certs"),
                timeout=self.get_option("timeout"),
                retry_max_time=self.get_option("retry_max_time"),
            )
            members = self._project_members(client)
            # As pydo's `params`: a `name=` keyword would collide with list_all's own first argument.
            query = {k: v for k in ("tag_name", "name") if (v := self.get_option(k))}
            droplets = client.list_all("droplets.list", "droplets", params=query)
        except PluginClientError as exc:
            raise AnsibleParserError(f"{self.NAME}: {one_line(exc)}") from None
        except DOApiError as exc:
            raise AnsibleParserError(f"{self.NAME}: {self._explain(exc, api_url)}") from None
        except AnsibleError as exc:
            raise AnsibleParserError(f"{self.NAME}: {one_line(to_native(exc))}") from None
        if members is None:
            return [droplet_record(d) for d in droplets]
        return [droplet_record(d, members[d["id"]]) for d in droplets if d["id"] in members]

    @staticmethod
    def _explain(err, api_url):
        if err.status is None:
            return one_line(f"cannot reach the DigitalOcean API at {api_url}: {err.transport_error}")
        if err.status == 401:
            said = " ".join(p for p in (err.error_id and f"{err.error_id}:", err.api_message) if p)
            return one_line(
                f"DigitalOcean refused the API token (HTTP 401 {said}); check the token option or DIGITALOCEAN_TOKEN"
            )
        return one_line(err.describe())

    def _project_members(self, client):
        """{droplet id: the project reference it matched}; None without a project filter.

        One call per project (per 200 of its resources); a project given by name
        costs one list of the account's projects first, to find its id.
        """
        from ansible_collections.seaworthy.digitalocean.plugins.module_utils._client import DOApiError
        from ansible_collections.seaworthy.digitalocean.plugins.module_utils._plugin_client import PluginClientError

        wanted = list(dict.fromkeys(self.get_option("project") or []))
        if not wanted:
            return None
        ids = {ref: ref for ref in wanted if is_uuid(ref)}
        by_name = [ref for ref in wanted if ref not in ids]
        if by_name:
            known = client.list_all("projects.list", "projects")
            for ref in by_name:
                matches = [p for p in known if p["name"] == ref]
                if not matches:
                    names = ", ".join(sorted(p["name"] for p in known)) or "none"
                    raise PluginClientError(f"project {ref!r} not found (projects: {names})")
                if len(matches) > 1:
                    found = ", ".join(p["id"] for p in matches)
                    raise PluginClientError(f"project name {ref!r} is ambiguous (ids {found}); give its id")
                ids[ref] = matches[0]["id"]
        members = {}
        for ref in wanted:
            try:
                resources = client.list_all("projects.list_resources", "resources", ids[ref])
            except DOApiError as exc:
                if exc.status == 404:
                    raise PluginClientError(f"project {ref!r} not found") from None
                raise
            for resource in resources:
                kind, _sep, ident = (resource.get("urn") or "").removeprefix("do:").partition(":")
                if kind == "droplet" and ident.isdigit():
                    members.setdefault(int(ident), ref)
        return members

    # -- hosts and groups ------------------------------------------------------
    def _populate(self, records, prefix, keyed_groups):
        strict = self.get_option("strict")
        attributes = self.get_option("attributes")
        filters = self.get_option("filters")
        host_address = self.get_option("host_address")
        template = self.get_option("hostname_template")
        compose = self.get_option("compose")
        groups = self.get_option("groups")

        candidates = []
        for record in records:
            variables = {prefix + key: value for key, value in record.items()}
            address = record["name"] if host_address == "name" else record.get(host_address)
            if address:
                variables["ansible_host"] = address
            if not self._passes(filters, variables, record, strict):
                continue
            candidates.append((self._host_name(template, variables, record, strict), record, variables, address))

        taken = {}
        for name, record, _variables, _address in candidates:
            taken.setdefault(name, []).append(record["id"])
        for name, ids in taken.items():
            if len(ids) > 1:
                self.display.warning(
                    f"{len(ids)} droplets are named {name!r} (ids {', '.join(str(i) for i in sorted(ids))}); "
                    f"their hosts are named {name}-<id>"
                )

        unaddressed = []
        for name, record, variables, address in candidates:
            host = name if len(taken[name]) == 1 else f"{name}-{record['id']}"
            self.inventory.add_host(host)
            for key in attributes:
                if key in record:
                    self.inventory.set_variable(host, prefix + key, record[key])
            if address:
                self.inventory.set_variable(host, "ansible_host", address)
            else:
                unaddressed.append(host)
            self._set_composite_vars(compose, variables, host, strict)
            self._add_host_to_composed_groups(groups, variables, host, strict)
            if keyed_groups is None:
                self._add_default_groups(host, record)
            else:
                self._add_host_to_keyed_groups(keyed_groups, variables, host, strict)
        if unaddressed:
            shown = ", ".join(unaddressed[:5]) + (f" and {len(unaddressed) - 5} more" if len(unaddressed) > 5 else "")
            self.display.warning(f"no ansible_host for {shown}: no {host_address} address (yet)")

    def _add_default_groups(self, host, record):
        """What default_keyed_groups(prefix) yields for this droplet, in the same order."""
        tags = record.get("tags") or []
        names = [(label, t[len(label) + 1 :]) for label in LABELS for t in tags if t.startswith(label + ":")]
        names += [("region", record.get("region")), ("size", record.get("size"))]
        names += [("tag", t) for t in tags if not t.startswith(tuple(label + ":" for label in LABELS))]
        names.append(("vpc", record.get("vpc_uuid")))
        for prefix, value in names:
            if value is None or (value == "" and prefix in ("region", "size", "vpc")):
                continue
            group = self.inventory.add_group(self._sanitize_group_name(f"{prefix}_{value}"))
            self.inventory.add_host(host, group)

    def _passes(self, filters, variables, record, strict):
        for expression in filters or []:
            try:
                if not self._compose(expression, variables):
                    return False
            except Exception as exc:  # pylint: disable=broad-except  # any failure excludes, or stops when strict
                if strict:
                    raise AnsibleParserError(
                        f"{self.NAME}: filter {expression!r} failed for droplet {record['name']}: {one_line(exc)}"
                    ) from None
                return False
        return True

    def _host_name(self, template, variables, record, strict):
        if not template:
            return record["name"]
        self.templar.available_variables = variables
        try:
            name = str(self.templar.template(template)).strip()
        except Exception as exc:  # pylint: disable=broad-except  # reported in one line
            raise AnsibleParserError(
                f"{self.NAME}: hostname_template failed for droplet {record['name']}: {one_line(exc)}"
            ) from None
        if not name:
            if strict:
                raise AnsibleParserError(f"{self.NAME}: hostname_template is empty for droplet {record['name']}")
            return record["name"]
        return name
