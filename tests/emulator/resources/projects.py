"""Projects (`/v2/projects`) and the resources assigned to them (`.../resources`).

Every resource belongs to exactly one project: the one it was last assigned
to, else the default project (which exists from the start, as on
DigitalOcean). Assignments live in the `project_resources` table keyed by URN;
a resource that no longer exists drops out of its project on the next read,
so families that delete resources need not tell this one.

Other families call `assign_to_project` / `assign_to_default_project` when they
create a resource, `project_of` to show a resource's `project_id`, and
`require_project` to check a `project_id` given in a request.
"""

from __future__ import annotations

from ..errors import ApiError, not_found
from ..store import new_uuid, now_iso
from .account import ACCOUNT

PURPOSES = (
    "Just trying out DigitalOcean",
    "Class project / Educational purposes",
    "Website or blog",
    "Web Application",
    "Service or API",
    "Mobile Application",
    "Machine learning / AI / Data processing",
    "IoT",
    "Operational / Developer tooling",
)
OWNER_ID = 258992

# URN kind -> (store table, field that identifies a resource, API path of one resource)
KINDS = {
    "droplet": ("droplets", "id", "/v2/droplets/{}"),
    "volume": ("volumes", "id", "/v2/volumes/{}"),
    "dbaas": ("database_clusters", "id", "/v2/databases/{}"),
    "domain": ("domains", "name", "/v2/domains/{}"),
    "loadbalancer": ("load_balancers", "id", "/v2/load_balancers/{}"),
    "floatingip": ("reserved_ips", "ip", "/v2/reserved_ips/{}"),
    "kubernetes": ("kubernetes_clusters", "id", "/v2/kubernetes/clusters/{}"),
    # Buckets live in the S3 endpoint, not in the store: taken on trust.
    "space": (None, "name", "/v2/spaces/{}"),
}


# -- helpers for every family ------------------------------------------------------
def ensure_default_project(store) -> dict:
    for project in store.all("projects"):
        if project["is_default"]:
            return project
    return _new_project(
        store,
        name="Default",
        description="Default project",
        purpose=PURPOSES[0],
        environment="Development",
        is_default=True,
    )


def require_project(store, project_id: str | None) -> dict:
    """The project a request names (422 when it does not exist), or the default one."""
    if not project_id:
        return ensure_default_project(store)
    project = store.get("projects", project_id)
    if project is None:
        raise ApiError(422, f"Project '{project_id}' could not be found.")
    return project


def assign_to_project(store, urn: str, project_id: str | None = None) -> None:
    project = require_project(store, project_id)
    entry = store.get("project_resources", urn)
    if entry is None or entry["project_id"] != project["id"]:  # already there: keep when it was assigned
        store.put("project_resources", urn, {"urn": urn, "project_id": project["id"], "assigned_at": now_iso()})


def assign_to_default_project(store, urn: str) -> None:
    assign_to_project(store, urn, None)


def project_of(store, urn: str) -> str:
    entry = store.get("project_resources", urn)
    if entry and store.get("projects", entry["project_id"]):
        return entry["project_id"]
    return ensure_default_project(store)["id"]


def resources_of(store, project_id: str) -> list[dict]:
    """`{urn, assigned_at}` of the live resources in the project, oldest assignment first.

    Resources no family assigned explicitly belong to the default project.
    """
    default_id = ensure_default_project(store)["id"]
    found = []
    for urn, created_at in _live_resources(store):
        entry = store.get("project_resources", urn)
        owner = entry["project_id"] if entry and store.get("projects", entry["project_id"]) else default_id
        if owner == project_id:
            found.append({"urn": urn, "assigned_at": entry["assigned_at"] if entry else created_at})
    # Spaces buckets are not in the store; their assignments alone say they exist.
    found += [
        {"urn": e["urn"], "assigned_at": e["assigned_at"]}
        for e in store.all("project_resources")
        if e["urn"].startswith("do:space:") and e["project_id"] == project_id
    ]
    return sorted(found, key=lambda r: r["assigned_at"])


def _live_resources(store):
    for kind, (table, key, _) in KINDS.items():
        if table is None:
            continue
        for resource in store.all(table):
            yield f"do:{kind}:{resource[key]}", resource.get("created_at") or "1970-01-01T00:00:00Z"


# -- the API -------------------------------------------------------------------------
def _new_project(store, *, name, description, purpose, environment, is_default) -> dict:
    project_id = new_uuid()
    stamp = now_iso()
    project = {
        "id": project_id,
        "owner_uuid": ACCOUNT["uuid"],
        "owner_id": OWNER_ID,
        "name": name,
        "description": description,
        "purpose": purpose,
        "is_default": is_default,
        "created_at": stamp,
        "updated_at": stamp,
    }
    if environment:
        project["environment"] = environment
    return store.put("projects", project_id, project)


def _find(store, project_id: str) -> dict:
    if project_id == "default":
        return ensure_default_project(store)
    ensure_default_project(store)
    project = store.get("projects", project_id)
    if project is None:
        raise not_found("project")
    return project


def _purpose(value: str) -> str:
    """DigitalOcean stores an unlisted purpose as `Other: <text>`."""
    if not value or not value.strip():
        raise ApiError(422, "purpose must not be empty")
    if value in PURPOSES or value.startswith("Other: "):
        return value
    return f"Other: {value}"


def _check_name(store, name, project_id=None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ApiError(422, "name must not be empty")
    if any(p["name"] == name and p["id"] != project_id for p in store.all("projects")):
        raise ApiError(422, f"A project named '{name}' already exists; project names must be unique.")
    return name


def _update(store, project: dict, body: dict, full: bool) -> dict:
    if full:
        missing = [f for f in ("name", "description", "purpose", "environment", "is_default") if f not in body]
        if missing:
            raise ApiError(422, f"a full update must send {', '.join(missing)}")
    elif not body:
        raise ApiError(422, "send at least one of name, description, purpose, environment, is_default")
    changes = {}
    if "name" in body:
        changes["name"] = _check_name(store, body["name"], project["id"])
    if "description" in body:
        changes["description"] = body["description"]
    if "purpose" in body:
        changes["purpose"] = _purpose(body["purpose"])
    if "environment" in body:
        changes["environment"] = body["environment"]
    if "is_default" in body:
        if project["is_default"] and not body["is_default"]:
            raise ApiError(422, "The default project cannot be unset; make another project the default instead.")
        if body["is_default"] and not project["is_default"]:
            ensure_default_project(store)["is_default"] = False
            changes["is_default"] = True
    project.update(changes, updated_at=now_iso())
    return project


def _resource_entry(ctx, entry: dict) -> dict:
    kind, _, resource_id = entry["urn"][3:].partition(":")
    return {
        "urn": entry["urn"],
        "assigned_at": entry["assigned_at"],
        "links": {"self": ctx.base_url + KINDS[kind][2].format(resource_id)},
        "status": "ok",
    }


def _check_urn(store, urn) -> str:
    kind, _, resource_id = str(urn).removeprefix("do:").partition(":")
    if not str(urn).startswith("do:") or not resource_id:
        raise ApiError(400, "resource objects must have an urn in the following format: do:resource_type:resource_id")
    if kind not in KINDS:
        raise ApiError(422, f"Resources of type '{kind}' cannot be assigned to a project ({urn}).")
    table, key, _ = KINDS[kind]
    if table is not None and not any(str(r[key]) == resource_id for r in store.all(table)):
        raise ApiError(404, f"The resource {urn} could not be found.")
    return urn


def register(api):
    @api.route("/v2/projects", methods=["GET"])
    def list_projects(ctx):
        ensure_default_project(ctx.store)
        return 200, ctx.paginate(ctx.store.all("projects"), "projects")

    @api.route("/v2/projects", methods=["POST"])
    def create_project(ctx):
        body = ctx.json
        ensure_default_project(ctx.store)
        project = _new_project(
            ctx.store,
            name=_check_name(ctx.store, body.get("name")),
            description=body.get("description", ""),
            purpose=_purpose(body.get("purpose", "")),
            environment=body.get("environment"),
            is_default=False,
        )
        return 201, {"project": project}

    @api.route("/v2/projects/<project_id>", methods=["GET"])
    def get_project(ctx, project_id):
        return 200, {"project": _find(ctx.store, project_id)}

    @api.route("/v2/projects/<project_id>", methods=["PUT", "PATCH"])
    def update_project(ctx, project_id):
        project = _find(ctx.store, project_id)
        return 200, {"project": _update(ctx.store, project, ctx.json, full=ctx.request.method == "PUT")}

    @api.route("/v2/projects/<project_id>", methods=["DELETE"])
    def delete_project(ctx, project_id):
        project = _find(ctx.store, project_id)
        if project["is_default"]:
            raise ApiError(422, "The default project cannot be deleted; make another project the default first.")
        if resources_of(ctx.store, project["id"]):
            raise ApiError(412, "cannot delete a project with resources. move or remove the resources first")
        ctx.store.delete("projects", project["id"])
        return 204, None

    @api.route("/v2/projects/<project_id>/resources", methods=["GET"])
    def list_resources(ctx, project_id):
        project = _find(ctx.store, project_id)
        items = [_resource_entry(ctx, e) for e in resources_of(ctx.store, project["id"])]
        return 200, ctx.paginate(items, "resources")

    @api.route("/v2/projects/<project_id>/resources", methods=["POST"])
    def assign_resources(ctx, project_id):
        project = _find(ctx.store, project_id)
        urns = ctx.json.get("resources")
        if not isinstance(urns, list) or not urns:
            raise ApiError(422, "resources must be a non-empty list of URNs")
        # All or nothing: one unknown resource leaves every assignment as it was.
        for urn in [_check_urn(ctx.store, u) for u in urns]:
            assign_to_project(ctx.store, urn, project["id"])
        items = [_resource_entry(ctx, e) for e in resources_of(ctx.store, project["id"])]
        return 200, {"resources": items}
