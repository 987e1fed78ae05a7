# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Spaces (DigitalOcean's S3-compatible object storage) through boto3.

Spaces is not part of the DigitalOcean API: buckets live behind a regional S3
endpoint and are reached with a Spaces access key pair, not the API token. So
the Spaces modules do not build a `DOClient`; `SpacesModule` gives them the same
shape as `DOModule` (`diff`, `exit`, check mode, clear failures) over a boto3
S3 client:

- endpoint: `endpoint` option, else E(DIGITALOCEAN_SPACES_ENDPOINT), else
  `https://{region}.digitaloceanspaces.com` (`{region}` is substituted in any of them);
- keys: options, else E(SPACES_ACCESS_KEY_ID)/E(SPACES_SECRET_ACCESS_KEY), else the AWS names;
- TLS: `validate_certs`; extra CAs from E(AWS_CA_BUNDLE) or E(REQUESTS_CA_BUNDLE);
- failures: S3's error code, message, request id and HTTP status, never a traceback.

The DigitalOcean token options are accepted and ignored, so that
`module_defaults: {group/seaworthy.digitalocean.all: {token: ...}}` does not
break a play that also manages buckets.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as exc:  # reported by SpacesModule with a clear message
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = exc

    class ClientError(Exception):  # stand-ins so that modules import without boto3
        pass

    class BotoCoreError(Exception):
        pass


from ._client import TOKEN_ENV

DEFAULT_ENDPOINT = "https://{region}.digitaloceanspaces.com"
ACCESS_KEY_ENV = ["SPACES_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"]
SECRET_KEY_ENV = ["SPACES_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"]

SPACES_ARGUMENT_SPEC = {
    # Accepted for module_defaults of the `all` group; Spaces does not use the API token.
    "token": {
        "type": "str",
        "no_log": True,
        "aliases": ["api_token", "oauth_token"],
        "fallback": (env_fallback, TOKEN_ENV),
    },
    "api_url": {"type": "str"},
    "validate_certs": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 30},
    "region": {"type": "str", "required": True},
    "endpoint": {"type": "str", "fallback": (env_fallback, ["DIGITALOCEAN_SPACES_ENDPOINT"])},
    "access_key": {
        "type": "str",
        "no_log": False,
        "aliases": ["access_key_id"],
        "fallback": (env_fallback, ACCESS_KEY_ENV),
    },
    "secret_key": {
        "type": "str",
        "no_log": True,
        "aliases": ["secret_access_key"],
        "fallback": (env_fallback, SECRET_KEY_ENV),
    },
}

# S3's bucket naming rules (the strictest common subset of what AWS and Spaces accept).
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(name):
    """Why `name` is not a valid S3 bucket name, or None."""
    if not name or not 3 <= len(name) <= 63:
        return "it must be 3 to 63 characters long"
    if not BUCKET_RE.match(name):
        return "use only lowercase letters, digits, '.' and '-', beginning and ending with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "'.' may not be next to another '.' or a '-'"
    try:
        ipaddress.ip_address(name)
        return "it must not look like an IP address"
    except ValueError:
        pass
    if name.startswith(RESERVED_PREFIXES) or name.endswith(RESERVED_SUFFIXES):
        return "it uses a prefix or suffix S3 reserves"
    return None


def error_code(err):
    return ((getattr(err, "response", None) or {}).get("Error") or {}).get("Code")


def describe(err):
    """S3's answer (status, code, message, request id) as one line."""
    if isinstance(err, ClientError):
        response = err.response or {}
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        text = f"HTTP {meta.get('HTTPStatusCode')} {error.get('Code')}"
        if error.get("Message"):
            text += f": {error['Message']}"
        if meta.get("RequestId"):
            text += f" (request_id {meta['RequestId']})"
        return text
    return f"no answer from the Spaces endpoint ({err})"


def failure_of(err):
    if isinstance(err, ClientError):
        response = err.response or {}
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        return {
            "status": meta.get("HTTPStatusCode"),
            "id": error.get("Code"),
            "message": error.get("Message"),
            "request_id": meta.get("RequestId"),
        }
    return {"status": None, "id": None, "message": str(err), "request_id": None}


class SpacesModule:
    resource_key = "bucket"

    def __init__(self, argument_spec, **module_kwargs):
        spec = copy.deepcopy(SPACES_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, supports_check_mode=True, **module_kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.changed = False
        self._before = None
        self._after = None
        if not HAS_BOTO3:
            self.module.fail_json(msg=missing_required_lib("boto3"), exception=str(BOTO3_IMPORT_ERROR))
        self.region = self.params["region"]
        self.endpoint = (self.params["endpoint"] or DEFAULT_ENDPOINT).replace("{region}", self.region).rstrip("/")
        if not self.endpoint.startswith(("https://", "http://")):
            self.module.fail_json(msg=f"endpoint must start with https:// or http://, got {self.endpoint!r}")
        self._s3 = None

    @property
    def s3(self):
        """The boto3 client, built on first use so that bad input fails before the keys are needed."""
        if self._s3 is None:
            access_key, secret_key = self.params["access_key"], self.params["secret_key"]
            if not access_key or not secret_key:
                missing = " and ".join(n for n, v in (("access_key", access_key), ("secret_key", secret_key)) if not v)
                self.module.fail_json(
                    msg=f"No Spaces {missing}: set the option(s) or the environment variables "
                    "SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY (see spaces_key)"
                )
            verify = False
            if self.params["validate_certs"]:
                verify = os.environ.get("AWS_CA_BUNDLE") or os.environ.get("REQUESTS_CA_BUNDLE") or True
            timeout = self.params["timeout"] or 30
            self._s3 = boto3.session.Session().client(
                "s3",
                region_name=self.region,
                endpoint_url=self.endpoint,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                verify=verify,
                config=Config(
                    s3={"addressing_style": "path"},
                    retries={"mode": "standard", "max_attempts": 5},
                    connect_timeout=timeout,
                    read_timeout=timeout,
                    # Spaces does not take the newer default CRC checksums on every request.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )
        return self._s3

    def call(self, operation, doing, missing=(), **kwargs):
        """Run an S3 operation; None when it fails with one of the `missing` error codes; fail clearly otherwise."""
        try:
            return getattr(self.s3, operation)(**kwargs)
        except ClientError as err:
            if error_code(err) in missing:
                return None
            self.fail(err, doing)
        except BotoCoreError as err:
            self.fail(err, doing)
        return None

    def fail(self, err, doing):
        self.module.fail_json(msg=f"{doing} failed: {describe(err)}", failure=failure_of(err))

    def diff(self, before, after):
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
