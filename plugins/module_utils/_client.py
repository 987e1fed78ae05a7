# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DigitalOcean API client every Seaworthy module and plugin shares.

pydo (DigitalOcean's official client) does the HTTP; this layer decides what
a call means, because pydo's defaults are unsafe for infrastructure code:

- pydo re-sends a POST after a 500/503/504 (duplicate droplets) and does not
  retry a 429 on POST. Here pydo's own retries are off (`retry_total=0`) and
  one policy applies: 429 is retried for every method honouring Retry-After;
  5xx and transport errors are retried only for idempotent calls; a create
  that fails that way raises `WriteUncertain`, so the caller looks the
  resource up before sending it again (see `_base.DOModule.create_once`).
- pydo returns the parsed error body for statuses the spec documents (a 404
  comes back as `{"id": "not_found", ...}`) and raises for the others. Here
  every call yields one `ApiResponse(status, body, headers)` and failures
  become `DOApiError` carrying DigitalOcean's `id`, `message`, `request_id`.
"""

from __future__ import annotations

import json
import random
import time

from ansible.module_utils.basic import env_fallback, missing_required_lib

try:
    import pydo
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    HAS_PYDO = True
    PYDO_IMPORT_ERROR = None
except ImportError as exc:  # reported by DOClient with a clear message
    HAS_PYDO = False
    PYDO_IMPORT_ERROR = exc

COLLECTION_VERSION = "0.1.0"
DEFAULT_API_URL = "https://api.digitalocean.com"
TOKEN_ENV = ["DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN", "DO_API_TOKEN"]
PER_PAGE = 200  # DigitalOcean's maximum
RETRYABLE_STATUS = (500, 502, 503, 504)
MAX_ATTEMPTS = 8
MAX_RETRY_SLEEP = 60.0

COMMON_ARGUMENT_SPEC = {
    "token": {
        "type": "str",
        "no_log": True,
        "aliases": ["api_token", "oauth_token"],
        "fallback": (env_fallback, TOKEN_ENV),
    },
    "api_url": {"type": "str", "default": DEFAULT_API_URL, "fallback": (env_fallback, ["DIGITALOCEAN_API_URL"])},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 30},
}


def common_argument_spec(wait=False, wait_timeout=300):
    """The options every module has (doc fragment `common`), plus `wait`/`wait_timeout` for async ones."""
    spec = dict(COMMON_ARGUMENT_SPEC)
    if wait:
        spec.update(
            {"wait": {"type": "bool", "default": True}, "wait_timeout": {"type": "int", "default": wait_timeout}}
        )
    return spec


class DOApiError(Exception):
    """An API call that failed, with what DigitalOcean said about it."""

    def __init__(self, operation, status, body=None, transport_error=None):
        self.operation = operation
        self.status = status
        body = body if isinstance(body, dict) else {}
        self.error_id = body.get("id")
        self.api_message = body.get("message")
        self.request_id = body.get("request_id")
        self.transport_error = transport_error
        super().__init__(self.describe())

    def describe(self):
        if self.status is None:
            return f"{self.operation}: no answer from the API ({self.transport_error})"
        parts = [f"{self.operation}: HTTP {self.status}"]
        if self.error_id:
            parts.append(self.error_id)
        if self.api_message:
            parts.append(self.api_message)
        text = " ".join(parts[:2]) + (": " + " - ".join(parts[2:]) if len(parts) > 2 else "")
        if self.request_id:
            text += f" (request_id {self.request_id})"
        return text

    def as_dict(self):
        return {
            "operation": self.operation,
            "status": self.status,
            "id": self.error_id,
            "message": self.api_message or (str(self.transport_error) if self.transport_error else None),
            "request_id": self.request_id,
        }


class WriteUncertain(DOApiError):
    """A non-idempotent write got a 5xx or no answer: it may or may not have happened."""


class ApiResponse:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status, body, headers):
        self.status = status
        self.body = body
        self.headers = headers

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300


def _body_of(http_response):
    try:
        text = http_response.text()
    except Exception:  # pylint: disable=broad-except  # a body we cannot read is no body
        return None
    try:
        return json.loads(text) if text else None
    except ValueError:
        return {"message": text[:500]}


class DOClient:
    """pydo with Seaworthy's retry, error and pagination policy."""

    def __init__(self, module, sleep=time.sleep):
        self.module = module
        self.sleep = sleep
        if not HAS_PYDO:
            module.fail_json(msg=missing_required_lib("pydo"), exception=str(PYDO_IMPORT_ERROR))
        params = module.params
        token = params.get("token")
        if not token:
            module.fail_json(
                msg="No DigitalOcean API token: set the token option or one of the environment variables {}.".format(
                    ", ".join(TOKEN_ENV)
                )
            )
        self.api_url = (params.get("api_url") or DEFAULT_API_URL).rstrip("/")
        if not self.api_url.startswith(("https://", "http://")):
            module.fail_json(msg=f"api_url must start with https:// or http://, got {self.api_url!r}")
        self._call_kwargs = {"enforce_https": False} if self.api_url.startswith("http://") else {}
        self.calls = 0
        self.pydo = pydo.Client(
            token=token,
            endpoint=self.api_url,
            timeout=params.get("timeout") or 30,
            retry_total=0,
            connection_verify=params.get("validate_certs", True),
            user_agent=f"seaworthy.digitalocean/{COLLECTION_VERSION}",
        )

    # -- one call ------------------------------------------------------------
    def _operation(self, name):
        group, _dot, method = name.partition(".")
        return getattr(getattr(self.pydo, group), method)

    def _attempt(self, name, args, kwargs):
        operation = self._operation(name)
        self.calls += 1
        try:
            return operation(
                *args,
                cls=lambda pipeline_response, body, headers: ApiResponse(
                    pipeline_response.http_response.status_code, body, pipeline_response.http_response.headers
                ),
                **dict(self._call_kwargs, **kwargs),
            )
        except HttpResponseError as exc:
            if exc.response is None:
                return ApiResponse(None, None, {})
            return ApiResponse(exc.status_code, _body_of(exc.response), exc.response.headers)

    def call(self, name, /, *args, **kwargs):
        """Run pydo operation `name` ("droplets.get") with the retry policy; return ApiResponse.

        `idempotent` (default True) says whether 5xx/transport failures may be retried;
        a non-idempotent call raises WriteUncertain instead.
        """
        idempotent = kwargs.pop("idempotent", True)
        attempt = 0
        while True:
            attempt += 1
            transport_error = None
            try:
                response = self._attempt(name, args, kwargs)
            except (ServiceRequestError, ServiceResponseError) as exc:
                response, transport_error = ApiResponse(None, None, {}), exc
            status = response.status
            if status == 429 and attempt < MAX_ATTEMPTS:
                # Rate limited: the request was not processed, so any method may be re-sent.
                self.sleep(self._retry_after(response.headers, attempt))
                continue
            if status is None or status in RETRYABLE_STATUS:
                if not idempotent:
                    raise WriteUncertain(name, status, response.body, transport_error)
                if attempt < MAX_ATTEMPTS:
                    self.sleep(self._backoff(attempt))
                    continue
                raise DOApiError(name, status, response.body, transport_error)
            return response

    @staticmethod
    def _backoff(attempt):
        return min(MAX_RETRY_SLEEP, 0.5 * (2 ** (attempt - 1))) * (0.8 + 0.4 * random.random())  # noqa: S311 - jitter, not crypto

    def _retry_after(self, headers, attempt):
        value = (headers or {}).get("Retry-After") or (headers or {}).get("retry-after")
        try:
            return min(MAX_RETRY_SLEEP, max(0.0, float(value)))
        except (TypeError, ValueError):
            pass
        reset = (headers or {}).get("ratelimit-reset")
        try:
            return min(MAX_RETRY_SLEEP, max(1.0, float(reset) - time.time()))
        except (TypeError, ValueError):
            return self._backoff(attempt)

    # -- conveniences ----------------------------------------------------------
    def request(self, name, /, *args, **kwargs):
        """Call and return the body; raise DOApiError for any non-2xx answer."""
        response = self.call(name, *args, **kwargs)
        if not response.ok:
            raise DOApiError(name, response.status, response.body)
        return response.body

    def fetch(self, name, /, *args, **kwargs):
        """GET one resource; None when it does not exist (404)."""
        response = self.call(name, *args, **kwargs)
        if response.status == 404:
            return None
        if not response.ok:
            raise DOApiError(name, response.status, response.body)
        return response.body

    def list_all(self, name, key, /, *args, **params):
        """Every item of a paginated list, `per_page=200`, following pages to the end."""
        items = []
        page = 1
        while True:
            body = self.request(name, *args, per_page=PER_PAGE, page=page, **params)
            chunk = body.get(key) or []
            items.extend(chunk)
            total = (body.get("meta") or {}).get("total")
            has_next = bool(((body.get("links") or {}).get("pages") or {}).get("next"))
            if not chunk or (total is not None and len(items) >= total) or (total is None and not has_next):
                return items
            page += 1

    # -- waiting ---------------------------------------------------------------
    def wait_for(self, fetch, ready, timeout, what, describe=None):
        """Poll `fetch()` until `ready(value)`; backoff 0.5 s doubling to 5 s; fail after `timeout`."""
        deadline = time.time() + timeout
        delay = 0.5
        value = fetch()
        while not ready(value):
            if time.time() >= deadline:
                detail = describe(value) if describe else ""
                self.module.fail_json(
                    msg=f"Timed out after {timeout} s waiting for {what}" + (f"; {detail}" if detail else "")
                )
            self.sleep(min(delay, max(0.0, deadline - time.time())))
            delay = min(delay * 2, 5.0)
            value = fetch()
        return value

    def wait_action(self, action, timeout, what):
        """Wait for an action to complete; fail clearly when it errors."""
        if action.get("status") == "completed":
            return action
        done = self.wait_for(
            lambda: self.request("actions.get", action["id"])["action"],
            lambda a: a["status"] != "in-progress",
            timeout,
            "{} (action {})".format(what, action["id"]),
            describe=lambda a: "last status: {}".format(a.get("status")),
        )
        if done["status"] == "errored":
            self.module.fail_json(
                msg="{} failed: action {} ({}) ended errored".format(what, done["id"], done["type"]), action=done
            )
        return done
