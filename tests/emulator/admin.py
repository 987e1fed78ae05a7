"""The admin API tests drive the emulator with (no token; loopback only).

GET    /_emulator/health         which families are served, base URLs
GET    /_emulator/requests       the request log (?since=N for entries from index N)
DELETE /_emulator/requests       clear it
GET    /_emulator/violations     spec violations recorded
DELETE /_emulator/violations     clear them
GET    /_emulator/faults         live fault rules
POST   /_emulator/faults         add a rule (object) or rules (list); see faults.py
DELETE /_emulator/faults         remove all rules
GET    /_emulator/state          the whole state (for assertions)
POST   /_emulator/reset          forget everything (state, log, faults, violations)
"""

from __future__ import annotations

import json

from werkzeug.wrappers import Request, Response


def _json(status: int, body) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


def handle_admin(app, request: Request) -> Response:
    path = request.path.removeprefix("/_emulator").strip("/")
    method = request.method
    if path == "health" and method == "GET":
        return _json(
            200,
            {
                "status": "ok",
                "families": app.families,
                "base_urls": app.base_urls,
                "backing": app.config.backing,
                "services": app.backends.services(),
                "validate": bool(app.validator),
            },
        )
    if path == "requests":
        if method == "GET":
            since = int(request.args.get("since", 0))
            return _json(200, {"requests": app.request_log[since:], "next": len(app.request_log)})
        if method == "DELETE":
            app.request_log.clear()
            return Response(status=204)
    if path == "violations":
        if method == "GET":
            return _json(200, {"violations": [v.as_dict() for v in app.violations]})
        if method == "DELETE":
            app.violations.clear()
            return Response(status=204)
    if path == "faults":
        if method == "GET":
            return _json(200, {"faults": app.faults.list()})
        if method == "POST":
            try:
                spec = json.loads(request.get_data() or b"{}")
                specs = spec if isinstance(spec, list) else [spec]
                rules = [app.faults.add(s) for s in specs]
            except (ValueError, TypeError) as exc:
                return _json(400, {"id": "bad_request", "message": str(exc)})
            return _json(201, {"faults": [r.as_dict() for r in rules]})
        if method == "DELETE":
            app.faults.clear()
            return Response(status=204)
    if path == "state" and method == "GET":
        with app.store.lock:
            app.store.run_due()
            return _json(200, {"data": app.store.data, "pending_effects": app.store.pending_effects()})
    if path == "reset" and method == "POST":
        app.reset()
        return Response(status=204)
    return _json(404, {"id": "not_found", "message": f"no admin endpoint {method} /_emulator/{path}"})
