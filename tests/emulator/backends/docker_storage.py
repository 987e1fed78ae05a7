"""Spaces as a real S3 endpoint: moto's S3 server in the instance's `s3` container.

- One endpoint serves every region: `https://<s3 address>` (its certificate is
  from the emulator's test CA) and `http://<s3 address>`, the same from the
  host and from droplets. Inside droplets, whose resolver is the emulator's
  DNS, the DigitalOcean-style names work too: `https://nyc3.digitaloceanspaces.test`
  (path-style) and `https://<bucket>.nyc3.digitaloceanspaces.test` (virtual-host
  style), for every region of the catalogue.
- Only keys issued by `/v2/spaces/keys` are accepted, with their secret
  (SigV4 signature checked); a key deleted through the API is refused. Each
  key's grants become an IAM policy moto enforces (see `grants_policy`).
- A bucket created without a LocationConstraint belongs to the region the
  client signed for (`region_name`), as on Spaces.
- Presigned URLs are refused (501) and so are anonymous requests (403, even
  for public-read objects): moto's IAM check reads only the Authorization header.
- Keys restored from a state file cannot work here: DigitalOcean (and the
  store) never keep the secret. Create keys again after a restart.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request

from ..resources.catalog import REGION_NAMES
from ..tls import issue_certificate
from .docker_services import remove_service, service_address, start_service, wait_until
from .storage import StorageBackend

SPACES_DOMAIN = "digitaloceanspaces.test"  # the emulator's stand-in for digitaloceanspaces.com
# What a scoped grant allows, on the bucket and its objects (moto's names for S3 operations).
READ_ACTIONS = [
    "s3:HeadBucket",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "s3:ListBucketMultipartUploads",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:GetObjectAcl",
    "s3:GetObjectTagging",
    "s3:ListMultipartUploadParts",
]
WRITE_ACTIONS = [
    "s3:PutObject",
    "s3:PutObjectAcl",
    "s3:PutObjectTagging",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
]


def grants_policy(grants: list[dict]) -> dict | None:
    """The IAM policy moto enforces for a key's grants (None: the key may do nothing).

    fullaccess: everything, every bucket (create and delete buckets too).
    read: list the bucket, read its objects. readwrite: read, plus write and
    delete objects. Scoped keys cannot create, delete or configure buckets, nor
    list all buckets.
    """
    if any(g["permission"] == "fullaccess" for g in grants):
        return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    statements = [
        {
            "Effect": "Allow",
            "Action": READ_ACTIONS + (WRITE_ACTIONS if g["permission"] == "readwrite" else []),
            "Resource": [f"arn:aws:s3:::{g['bucket']}", f"arn:aws:s3:::{g['bucket']}/*"],
        }
        for g in grants
    ]
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def spaces_records(address: str) -> list[dict]:
    """The digitaloceanspaces.test zone: every region's endpoint and its buckets' names."""
    records = []
    for region in REGION_NAMES:
        records.append({"type": "A", "name": region, "data": address, "ttl": 60})
        records.append({"type": "A", "name": f"*.{region}", "data": address, "ttl": 60})
    return records


class DockerStorage(StorageBackend):
    def __init__(self, docker, tls_files):
        self.docker = docker
        self.tls_files = tls_files
        self.keys: dict[str, dict] = {}  # access key -> {secret_key, grants}
        self.token = secrets.token_urlsafe(24)
        self.container: str | None = None
        self.address: str | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        address = service_address(self.docker.public_network(), "s3")
        names = [SPACES_DOMAIN, f"*.{SPACES_DOMAIN}"]
        for region in REGION_NAMES:
            names += [f"{region}.{SPACES_DOMAIN}", f"*.{region}.{SPACES_DOMAIN}"]
        cert, key = issue_certificate(self.tls_files, f"*.{SPACES_DOMAIN}", names, [address])
        endpoints = [f"{scheme}://{region}.{SPACES_DOMAIN}" for region in REGION_NAMES for scheme in ("https", "http")]
        self.container, self.address = start_service(
            self.docker,
            "s3",
            ["python3", "/usr/local/lib/seaworthy/s3server.py", "/etc/seaworthy/s3.pem", "/etc/seaworthy/s3.key"],
            {"/etc/seaworthy/s3.pem": cert, "/etc/seaworthy/s3.key": key},
            env={
                "SEAWORTHY_S3_TOKEN": self.token,
                # requests to <region>.digitaloceanspaces.test are path-style, to <bucket>.<region>... virtual-host
                "MOTO_S3_CUSTOM_ENDPOINTS": ",".join(endpoints),
            },
        )

    def wait_ready(self) -> None:
        wait_until("the Spaces (S3) server", lambda: self._manage("GET", "health") == 200, self.container, self.docker)

    def _manage(self, method: str, path: str, body: dict | None = None) -> int:
        request = urllib.request.Request(
            f"http://{self.address}/_seaworthy/{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"X-Seaworthy-Token": self.token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            raise RuntimeError(
                f"Spaces server: {method} {path}: {exc.code} {exc.read().decode(errors='replace')}"
            ) from exc

    # -- StorageBackend ------------------------------------------------------------------
    def endpoint(self, region: str) -> str:
        return f"https://{self.address}"

    def regional_endpoint(self, region: str) -> str:
        """The DigitalOcean-style endpoint, for clients that resolve through the emulator's DNS (droplets)."""
        return f"https://{region}.{SPACES_DOMAIN}"

    def add_key(self, access_key, secret_key, grants=None):
        grants = [dict(g) for g in grants or []]
        self._manage("PUT", f"keys/{access_key}", {"secret_key": secret_key, "policy": grants_policy(grants)})
        self.keys[access_key] = {"secret_key": secret_key, "grants": grants}

    def set_grants(self, access_key, grants):
        key = self.keys.get(access_key)
        if key is None:  # restored from a state file: the secret is unknown, nothing to enforce
            return
        self.add_key(access_key, key["secret_key"], grants)

    def remove_key(self, access_key):
        self._manage("DELETE", f"keys/{access_key}")
        self.keys.pop(access_key, None)

    def reset(self):
        if self.container:
            self._manage("POST", "reset")
        self.keys.clear()

    def close(self):
        remove_service(self.docker, self.container)
        self.container = None

    # -- what clients are told ---------------------------------------------------------------
    def services(self) -> dict:
        return {
            "spaces": {
                "endpoint": self.endpoint("nyc3"),
                "http_endpoint": f"http://{self.address}",
                "address": self.address,
                "regional_endpoint": self.regional_endpoint("{region}"),
                "regions": sorted(REGION_NAMES),
            }
        }

    def client_env(self) -> dict[str, str]:
        return {
            "DIGITALOCEAN_SPACES_ENDPOINT": self.endpoint("nyc3"),
            # boto3 and the AWS CLI trust the endpoint's certificate through this, not REQUESTS_CA_BUNDLE
            "AWS_CA_BUNDLE": str(self.tls_files.bundle),
        }
