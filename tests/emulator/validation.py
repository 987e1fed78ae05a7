"""Contract checks: every exchange against the official DigitalOcean OpenAPI spec.

The spec is read from ../shared/do-openapi (never copied into the project) the
way its SOURCE.md shows. A request that breaks the spec is answered 422, as
DigitalOcean answers invalid input, and recorded; a response that breaks it is
an emulator bug, recorded too. The pytest fixture fails any test during which a
violation was recorded (tests that send bad requests on purpose say so).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urljoin

import yaml
from jsonschema_path import SchemaPath
from jsonschema_path.handlers import FileHandler, default_handlers
from jsonschema_path.handlers.file import FilePathHandler
from jsonschema_path.loaders import JsonschemaSafeLoader
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.validation.request.validators import V30RequestBodyValidator, V30RequestParametersValidator
from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
from openapi_schema_validator import OAS30Validator
from werkzeug.wrappers import Request, Response


class _ParametersValidator(V30RequestParametersValidator):
    """Parameters checked without request-body read/write semantics.

    The spec marks some path-parameter schemas `readOnly` (e.g. the SSH key
    `{ssh_key_identifier}`: an id or a fingerprint). `readOnly` means "not sent
    in a request body"; applied to a parameter it would reject every request
    for that path, so parameters are checked with the plain OpenAPI 3.0 schema
    validator. Request bodies keep the write semantics.
    """

    schema_validators_factory = SchemaValidatorsFactory(OAS30Validator)


class _SpecLoader(yaml.CSafeLoader):
    """jsonschema-path's safe loader, with YAML 1.2 booleans: only true/false.

    YAML 1.1 also reads on/off/yes/no as booleans, which turns the droplet
    status enum value `off` into False: every powered-off droplet would then
    break the contract.
    """


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in JsonschemaSafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _SpecFileHandler(FilePathHandler):
    """Reads spec files, spelling out `properties: {$ref: ...}`.

    DigitalOcean's load balancer schemas write `properties: {$ref: 'attributes.yml#/...'}`,
    a reference to a whole map of properties, which JSON Schema has no place for:
    openapi-core sees one property named `$ref` and fails on every load balancer
    request and response. Each referenced property gets its own `$ref` instead.
    """

    def __call__(self, uri: str):
        document = super().__call__(uri)
        self._spell_out(document, uri)
        return document

    def _spell_out(self, node, uri: str) -> None:
        if isinstance(node, list):
            for item in node:
                self._spell_out(item, uri)
        if not isinstance(node, dict):
            return
        properties = node.get("properties")
        if isinstance(properties, dict) and list(properties) == ["$ref"] and isinstance(properties["$ref"], str):
            ref = properties["$ref"]
            target_uri, _, pointer = urljoin(uri, ref).partition("#")
            target = super().__call__(target_uri)
            for part in filter(None, pointer.split("/")):
                target = target[part]
            node["properties"] = {name: {"$ref": f"{ref}/{name}"} for name in target}
        for value in node.values():
            self._spell_out(value, uri)


_SPEC_HANDLERS = {**default_handlers, "file": _SpecFileHandler("file", file_handler=FileHandler(_SpecLoader))}


def _json_body(request: Request) -> dict:
    try:
        body = json.loads(request.get_data(cache=True) or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


# Requests DigitalOcean documents and serves but the spec's request schemas leave
# out. Each is a documented gap, not a loophole: (method, path pattern, test on
# the JSON body, where DigitalOcean documents it).
KNOWN_REQUEST_GAPS = (
    (
        "POST",
        re.compile(r"^/v2/droplets/\d+/actions$"),
        lambda body: body.get("type") == "change_backup_policy" and isinstance(body.get("backup_policy"), dict),
        "droplet action change_backup_policy: described in the droplet actions text, missing from its type enum",
    ),
    *(
        (
            method,
            re.compile(r"^/v2/tags/[^/]+/resources$"),
            lambda body: _tags_databases(body.get("resources")),
            "tagging a database cluster: resource_type `database` is in the tag endpoints' text, missing from its enum",
        )
        for method in ("POST", "DELETE")
    ),
)


def _tags_databases(resources) -> bool:
    """A tag (un)assignment whose only off-enum part is resource_type `database`."""
    documented = ("droplet", "image", "volume", "volume_snapshot", "database")
    return (
        isinstance(resources, list)
        and any(isinstance(r, dict) and r.get("resource_type") == "database" for r in resources)
        and all(
            isinstance(r, dict)
            and set(r) <= {"resource_id", "resource_type"}
            and isinstance(r.get("resource_id"), str)
            and r.get("resource_type") in documented
            for r in resources
        )
    )


def known_gap(request: Request) -> str | None:
    for method, path, matches, reason in KNOWN_REQUEST_GAPS:
        if request.method == method and path.match(request.path) and matches(_json_body(request)):
            return reason
    return None


def _without_empty_query_values(request: Request) -> Request:
    """The request as DigitalOcean reads it: `?name=` means the filter was not given.

    pydo sends every optional filter, empty when unset (`GET /v2/certificates?name=`),
    and the spec's own default for those filters is ""; openapi-core would reject
    the empty value ("cannot be empty") although the official client always sends it.
    """
    pairs = [(k, v) for k, v in request.args.items(multi=True) if v != ""]
    if len(pairs) == len(list(request.args.items(multi=True))):
        return request
    environ = dict(request.environ, QUERY_STRING=urlencode(pairs))
    return Request(environ)


@dataclass
class Violation:
    kind: str  # "request" or "response"
    method: str
    path: str
    status: int
    message: str
    request_id: str
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict:
        return asdict(self)


def _explain(exc: Exception) -> str:
    """openapi-core nests the useful part (the JSON-schema errors) in causes."""
    parts = [str(exc)]
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(parts) < 4:
        details = getattr(cause, "schema_errors", None)
        if details:
            parts.append("; ".join(f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}" for e in details))
        else:
            parts.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    text = " <- ".join(p for p in parts if p)
    return text[:2000]


class SpecValidator:
    def __init__(self, spec_path: Path):
        if not spec_path.exists():
            raise FileNotFoundError(
                f"DigitalOcean OpenAPI spec not found at {spec_path} "
                "(expected ../shared/do-openapi beside the checkout, or set DO_OPENAPI_SPEC)"
            )
        started = time.perf_counter()
        with spec_path.open() as fh:
            spec = yaml.load(fh, Loader=_SpecLoader)  # noqa: S506 -- a CSafeLoader
        spec["servers"] = [{"url": "/"}]  # so requests to 127.0.0.1 match
        schema = SchemaPath.from_dict(spec, base_uri=spec_path.resolve().as_uri(), handlers=_SPEC_HANDLERS)
        self.api = OpenAPI(schema, config=Config(spec_validator_cls=None))
        self._parameters = _ParametersValidator(self.api.spec, base_url=self.api.config.server_base_url)
        self._body = V30RequestBodyValidator(self.api.spec, base_url=self.api.config.server_base_url)
        self.load_seconds = time.perf_counter() - started

    def check_request(self, request: Request) -> str | None:
        wrapped = WerkzeugOpenAPIRequest(_without_empty_query_values(request))
        for validator in (self._parameters, self._body):
            try:
                validator.validate(wrapped)
            except Exception as exc:  # openapi-core raises a family of errors; all mean "not per spec"
                return None if known_gap(request) else _explain(exc)
        return None

    def check_response(self, request: Request, response: Response) -> str | None:
        try:
            self.api.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
        except Exception as exc:
            return _explain(exc)
        return None
