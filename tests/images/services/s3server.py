"""Spaces for the emulator: moto's S3 server with the keys the API issued, and only those.

Runs in the `s3` container (tests/emulator/backends/docker_storage.py starts it):

    python3 s3server.py CERT KEY      # HTTPS on :443, plain HTTP on :80

moto checks every request's SigV4 signature and IAM policy
(INITIAL_NO_AUTH_ACTION_COUNT=0, set before moto is imported). A Spaces key is
an IAM user holding exactly that access key and secret, with the key's grants
as its inline policy. The emulator manages them here, with the token from
SEAWORTHY_S3_TOKEN in the X-Seaworthy-Token header:

    PUT    /_seaworthy/keys/<access key>  {"secret_key": ..., "policy": {...} or null}
    DELETE /_seaworthy/keys/<access key>
    POST   /_seaworthy/reset               forget every bucket and key
    GET    /_seaworthy/health              (no token) 200 once serving

moto's own /moto-api (which could switch authentication off) is refused, and
so are presigned URLs (501) and anonymous requests (403, public-read ACLs
included): moto's IAM check reads only the Authorization header.
"""

from __future__ import annotations

import hmac
import json
import os
import signal
import sys
import threading

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionAuthenticatorMixin
from moto.iam.models import iam_backends
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.responses import S3Response
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

TOKEN = os.environ["SEAWORTHY_S3_TOKEN"]
PREFIX = "/_seaworthy/"
POLICY_NAME = "spaces-key-grants"
lock = threading.Lock()
ANONYMOUS_REFUSED = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    "<Message>Access Denied: the emulator's Spaces serves signed requests only.</Message></Error>"
)
PRESIGNED_REFUSED = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NotImplemented</Code>'
    "<Message>The emulator's Spaces does not check presigned URLs (query-string authentication): "
    "sign requests with the Authorization header.</Message></Error>"
)


# Spaces puts a bucket created without a LocationConstraint in the region of the
# endpoint it was sent to (moto, like AWS outside us-east-1, refuses it): the
# region comes from the request's signature scope.
_location_constraint = S3Response._get_location_constraint


def _location_or_signing_region(self):
    return _location_constraint(self) or (None if self.region == "us-east-1" else self.region)


S3Response._get_location_constraint = _location_or_signing_region

# moto 5.1 checks signatures against the *decoded* URL, so a key or a query value
# with an escaped character (a space, `+`, `/` in `prefix=daily%2F`) fails with
# SignatureDoesNotMatch. Check them against the URI as the client sent it.
request_uri = threading.local()
_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _authorize_as_sent(self, *args, **kwargs):
    decoded, self.uri = self.uri, getattr(request_uri, "value", None) or self.uri
    try:
        return _authorize(self, *args, **kwargs)
    finally:
        self.uri = decoded


ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize_as_sent


def iam():
    return iam_backends[DEFAULT_ACCOUNT_ID]["aws"]


def user_name(access_key: str) -> str:
    return f"spaces-{access_key}"


def remove_key(access_key: str) -> None:
    backend, name = iam(), user_name(access_key)
    if name not in backend.users:
        return
    backend.delete_access_key(access_key, name)
    for policy in list(backend.users[name].policies):
        backend.delete_user_policy(name, policy)
    backend.delete_user(name)


def put_key(access_key: str, secret_key: str, policy: dict | None) -> None:
    """(Re)create the IAM user owning exactly this key pair, allowed what `policy` allows."""
    backend, name = iam(), user_name(access_key)
    remove_key(access_key)
    backend.create_user(region_name="us-east-1", user_name=name)
    key = backend.create_access_key(name)
    backend.access_keys.pop(key.access_key_id, None)
    key.access_key_id, key.secret_access_key = access_key, secret_key
    backend.access_keys[access_key] = key
    if policy is not None:
        backend.put_user_policy(name, POLICY_NAME, json.dumps(policy))


def manage(request: Request) -> Response:
    path = request.path[len(PREFIX) :]
    if path == "health" and request.method == "GET":
        return Response("ok\n")
    if not hmac.compare_digest(request.headers.get("X-Seaworthy-Token", ""), TOKEN):
        return Response("forbidden\n", status=403)
    with lock:
        if path.startswith("keys/") and request.method == "PUT":
            body = json.loads(request.get_data() or b"{}")
            put_key(path[len("keys/") :], body["secret_key"], body.get("policy"))
            return Response(status=204)
        if path.startswith("keys/") and request.method == "DELETE":
            remove_key(path[len("keys/") :])
            return Response(status=204)
        if path == "reset" and request.method == "POST":
            moto_api_backend.reset()
            return Response(status=204)
    return Response("not found\n", status=404)


def application(moto_app):
    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX):
            try:
                response = manage(Request(environ))
            except Exception as exc:  # say what went wrong to the emulator, keep serving
                response = Response(f"{type(exc).__name__}: {exc}\n", status=500)
            return response(environ, start_response)
        if path.startswith("/moto-api"):
            return Response("forbidden\n", status=403)(environ, start_response)
        if "X-Amz-Signature=" in environ.get("QUERY_STRING", ""):  # moto's IAM check would fail with a 500
            return Response(PRESIGNED_REFUSED, status=501, content_type="application/xml")(environ, start_response)
        if "HTTP_AUTHORIZATION" not in environ:  # moto's IAM check would fail with a 500
            return Response(ANONYMOUS_REFUSED, status=403, content_type="application/xml")(environ, start_response)
        request_uri.value = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        return moto_app(environ, start_response)

    return app


def main() -> int:
    cert, key = sys.argv[1], sys.argv[2]
    app = application(DomainDispatcherApplication(create_backend_app))
    servers = [
        make_server("0.0.0.0", 443, app, threaded=True, ssl_context=(cert, key)),
        make_server("0.0.0.0", 80, app, threaded=True),
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("s3server: serving HTTPS on :443 and HTTP on :80", flush=True)
    stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
