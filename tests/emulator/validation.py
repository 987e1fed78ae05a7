"""Contract checks: every exchange against the official DigitalOcean OpenAPI spec.

The spec is read from ../shared/do-openapi (never copied into the project) the
way its SOURCE.md shows. A request that breaks the spec is answered 422, as
DigitalOcean answers invalid input, and recorded; a response that breaks it is
an emulator bug, recorded too. The pytest fixture fails any test during which a
violation was recorded (tests that send bad requests on purpose say so).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
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
            spec = yaml.load(fh, Loader=yaml.CSafeLoader)
        spec["servers"] = [{"url": "/"}]  # so requests to 127.0.0.1 match
        self.api = OpenAPI.from_dict(
            spec, config=Config(spec_validator_cls=None), base_uri=spec_path.resolve().as_uri()
        )
        self._parameters = _ParametersValidator(self.api.spec, base_url=self.api.config.server_base_url)
        self._body = V30RequestBodyValidator(self.api.spec, base_url=self.api.config.server_base_url)
        self.load_seconds = time.perf_counter() - started

    def check_request(self, request: Request) -> str | None:
        wrapped = WerkzeugOpenAPIRequest(request)
        for validator in (self._parameters, self._body):
            try:
                validator.validate(wrapped)
            except Exception as exc:  # openapi-core raises a family of errors; all mean "not per spec"
                return _explain(exc)
        return None

    def check_response(self, request: Request, response: Response) -> str | None:
        try:
            self.api.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
        except Exception as exc:
            return _explain(exc)
        return None
