"""The emulator's WSGI application: one pipeline every API request goes through.

    faults (before) -> auth -> rate limit -> due transitions -> route -> request
    contract -> handler -> faults (after commit) -> response contract -> log

Resource families live in `resources/` (one module each, discovered
automatically); each `register(api)`s its routes with `@api.route(...)`.
A handler takes a `Ctx` and the path parameters and returns
`(status, body)` or `(status, body, headers)`; it raises `ApiError` to fail.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import pkgutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .backends import Backends, make_backends
from .config import EmulatorConfig
from .errors import ApiError
from .faults import Faults
from .ratelimit import RateLimiter
from .store import Store
from .validation import SpecValidator, Violation

Handler = Callable[..., Any]
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Ctx:
    """What a handler sees of the request and of the emulator."""

    request: Request
    store: Store
    config: EmulatorConfig
    backends: Backends
    base_url: str
    request_id: str
    action_error: bool = False  # a fault rule asks actions started now to end `errored`
    emulator: Any = None
    _json: Any = field(default=None, repr=False)

    @property
    def query(self):
        return self.request.args

    @property
    def json(self) -> dict:
        if self._json is None:
            raw = self.request.get_data(cache=True)
            if not raw:
                self._json = {}
            else:
                try:
                    self._json = json.loads(raw)
                except ValueError as exc:
                    raise ApiError(400, f"Request body is not valid JSON: {exc}") from exc
        return self._json

    def query_int(self, name: str, default: int) -> int:
        value = self.request.args.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise ApiError(400, f"{name} must be an integer, got {value!r}") from exc

    def paginate(self, items: list, key: str, **extra) -> dict:
        """A list body exactly as DigitalOcean pages it: `links.pages` and `meta.total`."""
        per_page = min(max(self.query_int("per_page", 20), 1), 200)
        page = max(self.query_int("page", 1), 1)
        total = len(items)
        last = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        pages: dict[str, str] = {}

        def link(n: int) -> str:
            params = [(k, v) for k, v in self.request.args.items(multi=True) if k not in ("page", "per_page")]
            params += [("page", str(n)), ("per_page", str(per_page))]
            return f"{self.base_url}{self.request.path}?{urlencode(params)}"

        if page > 1:
            pages["first"] = link(1)
            pages["prev"] = link(min(page - 1, last))
        if page < last:
            pages["last"] = link(last)
            pages["next"] = link(page + 1)
        return {key: chunk, **extra, "links": {"pages": pages}, "meta": {"total": total}}


class Api:
    """The route table resource modules register into."""

    def __init__(self):
        self.url_map = Map(strict_slashes=False, merge_slashes=False)
        self.handlers: dict[str, Handler] = {}

    def route(self, path: str, methods: list[str]):
        def decorate(fn: Handler) -> Handler:
            endpoint = f"{fn.__module__}.{fn.__name__}:{path}:{','.join(methods)}"
            self.url_map.add(Rule(path, methods=methods, endpoint=endpoint))
            self.handlers[endpoint] = fn
            return fn

        return decorate


def load_resources(api: Api) -> list[str]:
    from . import resources

    names = []
    for info in pkgutil.iter_modules(resources.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{resources.__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(api)
            names.append(info.name)
    return names


def json_response(status: int, body: Any, headers: dict | None = None) -> Response:
    if status == 204 or body is None:
        response = Response(status=status)
    else:
        response = Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class EmulatorApp:
    def __init__(self, config: EmulatorConfig, validator: SpecValidator | None = None):
        self.config = config
        self.store = Store(config.state_file)
        self.faults = Faults()
        self.ratelimiter = RateLimiter(config.rate_per_minute, config.rate_per_hour)
        self.validator = validator
        self.backends = make_backends(config, self.store)
        self.api = Api()
        self.families = load_resources(self.api)
        self.request_log: list[dict] = []
        self.violations: list[Violation] = []
        self._log_lock = threading.Lock()
        self.base_urls: dict[str, str] = {}  # scheme -> base URL, filled by the server

    # -- WSGI ----------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.path.startswith("/_emulator"):
            from .admin import handle_admin

            response = handle_admin(self, request)
        else:
            response = self.handle_api(request, environ)
            if response is None:  # dropped connection
                return []
        return response(environ, start_response)

    def base_url_for(self, request: Request) -> str:
        return f"{request.scheme}://{request.host}"

    def handle_api(self, request: Request, environ) -> Response | None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        method, path = request.method, request.path
        rule = self.faults.take(method, path)
        rate_headers: dict[str, str] = {}
        committed = False
        violation_msgs: list[str] = []

        if rule and rule.delay:
            time.sleep(rule.delay)

        def error(status: int, message: str, error_id: str | None = None, extra: dict | None = None) -> Response:
            exc = ApiError(status, message, error_id)
            body = {"id": exc.error_id, "message": message, "request_id": request_id}
            return json_response(status, body, {**rate_headers, **(extra or {})})

        if rule and rule.status and not rule.after_commit:
            extra = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
            response = error(rule.status, rule.message or f"injected fault ({rule.status})", extra=extra)
        elif rule and rule.drop and not rule.after_commit:
            self._drop(environ)
            self._log(request, request_id, 0, started, committed=False, fault=rule.id)
            return None
        else:
            response, committed = self._dispatch(request, request_id, rule, error, rate_headers, violation_msgs)
            if rule and rule.after_commit:
                if rule.drop:
                    self._drop(environ)
                    self._log(request, request_id, 0, started, committed=committed, fault=rule.id)
                    return None
                response = error(rule.status, rule.message or f"injected fault ({rule.status}) after commit")

        response.headers["x-request-id"] = request_id
        if self.validator and response.status_code not in (401,):
            message = self.validator.check_response(request, response)
            if message:
                self._violation("response", request, response.status_code, message, request_id)
        self._log(
            request, request_id, response.status_code, started, committed=committed, fault=rule.id if rule else None
        )
        if committed and method in WRITE_METHODS:
            with self.store.lock:
                self.backends.after_write(self.store)
                self.store.save()
        return response

    def _dispatch(self, request, request_id, rule, error, rate_headers, violation_msgs) -> tuple[Response, bool]:
        auth = request.headers.get("Authorization", "")
        scheme, _sep, token = auth.partition(" ")
        if scheme.lower() != "bearer" or token not in self.config.tokens:
            return error(401, "Unable to authenticate you", "Unauthorized"), False

        allowed, headers, retry_after = self.ratelimiter.check(token)
        rate_headers.update(headers)
        if not allowed:
            return error(429, "API Rate limit exceeded.", "too_many_requests", {"Retry-After": str(retry_after)}), False

        adapter = self.api.url_map.bind_to_environ(request.environ)
        try:
            endpoint, params = adapter.match()
        except NotFound:
            return error(404, "The resource you were accessing could not be found."), False
        except MethodNotAllowed:
            return error(405, f"{request.method} is not allowed on {request.path}", "method_not_allowed"), False
        except HTTPException as exc:
            return error(exc.code or 400, exc.description or "bad request"), False

        if self.validator:
            message = self.validator.check_request(request)
            if message:
                self._violation("request", request, 422, message, request_id)
                return error(422, f"Invalid request: {message.split(' <- ')[-1]}"), False

        ctx = Ctx(
            request=request,
            store=self.store,
            config=self.config,
            backends=self.backends,
            base_url=self.base_url_for(request),
            request_id=request_id,
            action_error=bool(rule and rule.action_error),
            emulator=self,
        )
        try:
            with self.store.lock:
                self.store.run_due()
                result = self.api.handlers[endpoint](ctx, **params)
        except ApiError as exc:
            return error(exc.status, exc.message, exc.error_id, exc.headers), False
        except Exception as exc:  # an emulator bug: say so loudly, answer like a 500
            import traceback

            traceback.print_exc(file=sys.stderr)
            return error(500, f"emulator error: {type(exc).__name__}: {exc}"), False
        status, body, *rest = result if isinstance(result, tuple) else (result, None)
        extra = rest[0] if rest else {}
        return json_response(status, body, {**rate_headers, **extra}), True

    @staticmethod
    def _drop(environ) -> None:
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    # -- records ---------------------------------------------------------------
    def _log(self, request: Request, request_id: str, status: int, started: float, committed: bool, fault=None):
        body = None
        if request.method in WRITE_METHODS:
            raw = request.get_data(cache=True)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
        entry = {
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "query": request.query_string.decode(),
            "status": status,
            "write": request.method in WRITE_METHODS,
            "committed": committed,
            "body": body,
            "fault": fault,
            "seconds": round(time.perf_counter() - started, 4),
            "at": time.time(),
        }
        with self._log_lock:
            self.request_log.append(entry)

    def _violation(self, kind: str, request: Request, status: int, message: str, request_id: str) -> None:
        violation = Violation(kind, request.method, request.full_path.rstrip("?"), status, message, request_id)
        with self._log_lock:
            self.violations.append(violation)
        print(f"SPEC VIOLATION ({kind}) {request.method} {request.path}: {message}", file=sys.stderr)

    def reset(self) -> None:
        with self.store.lock:
            self.store.reset()
            self.backends.reset()
        self.faults.clear()
        self.ratelimiter.reset()
        with self._log_lock:
            self.request_log.clear()
            self.violations.clear()
