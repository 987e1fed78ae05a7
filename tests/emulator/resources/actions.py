"""Actions: the asynchronous records behind droplet, reserved IP, volume and image operations.

`start_action(...)` is how a family begins one: the action is `in-progress`
at once and, after `EMULATOR_DELAY_ACTION` seconds (and only once the
backend-facing `effect` reports done), `completed` -- or `errored` when a fault
rule asked for it. `effect` runs when the action completes, so state changes
(a new size, power off) become visible exactly when DigitalOcean would show them.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import not_found
from ..store import now_iso
from .catalog import region_object


def start_action(
    ctx,
    action_type: str,
    resource_id: int | None,
    resource_type: str,
    region: str | None,
    effect: Callable[[], float | None] | None = None,
    on_error: Callable[[], None] | None = None,
) -> dict:
    action_id = ctx.store.next_id("actions", start=2000000000)
    action = {
        "id": action_id,
        "status": "in-progress",
        "type": action_type,
        "started_at": now_iso(),
        "completed_at": None,
        "resource_id": resource_id,
        "resource_type": resource_type,
        "region": region_object(region) if region else None,
        "region_slug": region,
    }
    if action["region"] is None:
        del action["region"]
    ctx.store.put("actions", action_id, action)
    fail = ctx.action_error

    def finish() -> float | None:
        if fail:
            if on_error:
                on_error()
            action.update(status="errored", completed_at=now_iso())
            return None
        if effect is not None:
            retry = effect()
            if retry is not None:
                return retry
        action.update(status="completed", completed_at=now_iso())
        return None

    ctx.store.schedule(ctx.config.delay_action, finish)
    return action


def actions_for(ctx, resource_type: str, resource_id) -> list[dict]:
    return [
        a
        for a in sorted(ctx.store.all("actions"), key=lambda a: a["id"], reverse=True)
        if a["resource_type"] == resource_type and str(a["resource_id"]) == str(resource_id)
    ]


def register(api):
    @api.route("/v2/actions", methods=["GET"])
    def list_actions(ctx):
        items = sorted(ctx.store.all("actions"), key=lambda a: a["id"], reverse=True)
        return 200, ctx.paginate(items, "actions")

    @api.route("/v2/actions/<int:action_id>", methods=["GET"])
    def get_action(ctx, action_id):
        action = ctx.store.get("actions", action_id)
        if action is None:
            raise not_found("action")
        return 200, {"action": action}
