"""seaworthy.digitalocean.spaces_bucket against a moto S3 server, through real playbooks.

Spaces is S3: what matters is S3's semantics, which moto implements. The server
runs in this process (werkzeug, a free port on 127.0.0.1) behind a small WSGI
layer that records every request, so tests can assert that a run made no write.
"""

from __future__ import annotations

import threading
import urllib.request

import boto3
import pytest
from botocore.config import Config
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from tests.support.playbooks import run_tasks

KEYS = {"SPACES_ACCESS_KEY_ID": "DO00TESTACCESSKEY", "SPACES_SECRET_ACCESS_KEY": "test-secret"}
READS = ("GET", "HEAD")


class _Quiet(MotoRequestHandler):
    def log_request(self, code="-", size="-"):
        return


class S3Server:
    def __init__(self):
        self.log: list[tuple[str, str, str]] = []
        app = DomainDispatcherApplication(create_backend_app)

        def recording(environ, start_response):
            if not environ["PATH_INFO"].startswith("/moto-api"):
                self.log.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", "")))
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, recording, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def mark(self) -> int:
        return len(self.log)

    def writes(self, since: int = 0) -> list[tuple[str, str, str]]:
        return [r for r in self.log[since:] if r[0] not in READS]

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10).read()
        self.log.clear()

    def client_kwargs(self) -> dict:
        return {
            "endpoint_url": self.url,
            "region_name": "nyc3",
            "aws_access_key_id": KEYS["SPACES_ACCESS_KEY_ID"],
            "aws_secret_access_key": KEYS["SPACES_SECRET_ACCESS_KEY"],
            "config": Config(s3={"addressing_style": "path"}),
        }

    def client(self):
        return boto3.client("s3", **self.client_kwargs())

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def s3_server():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server, tmp_path):
    """The S3 server, reset, and play(tasks, check=False, diff=False, env=None) pointed at it."""
    s3_server.reset()
    env = {"DIGITALOCEAN_SPACES_ENDPOINT": s3_server.url, **KEYS}

    def play(tasks, env_override=None, **kwargs):
        return run_tasks(tasks, env_override if env_override is not None else env, tmp_path, **kwargs)

    s3_server.play = play
    return s3_server


def bucket(register="b", **args):
    return {"name": register, "seaworthy.digitalocean.spaces_bucket": {"region": "nyc3", **args}, "register": register}


CORS = [
    {
        "allowed_origins": ["https://app.example.com", "https://www.example.com"],
        "allowed_methods": ["GET", "PUT"],
        "allowed_headers": ["*"],
        "expose_headers": ["ETag"],
        "max_age_seconds": 3000,
    },
    {"allowed_origins": ["*"], "allowed_methods": ["GET"]},
]
LIFECYCLE = [
    {"id": "expire-backups", "prefix": "backups/", "expiration_days": 30},
    {"id": "abort-uploads", "abort_incomplete_multipart_upload_days": 2},
]


def test_create_reads_back_equal_is_idempotent_and_check_mode_writes_nothing(s3):
    args = {"name": "media", "acl": "private", "cors": CORS, "lifecycle": LIFECYCLE, "versioning": True}
    check = s3.play([bucket(**args)], check=True, diff=True)
    assert check.rc == 0 and check.changed == 1, check.result("b")
    assert check.result("b")["diff"]["after"]["versioning"] == "Enabled"
    assert s3.writes() == [], "check mode makes no write call"
    assert s3.client().list_buckets()["Buckets"] == []

    created = s3.play([bucket(**args)], diff=True)
    assert created.rc == 0 and created.changed == 1, created.result("b")
    assert "test-secret" not in str(created.output)
    assert [w[2] for w in s3.writes()] == ["", "cors", "lifecycle", "versioning"]

    client = s3.client()
    assert client.get_bucket_cors(Bucket="media")["CORSRules"] == [
        {
            "AllowedHeaders": ["*"],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedOrigins": ["https://app.example.com", "https://www.example.com"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 3000,
        },
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
    ]
    rules = sorted(client.get_bucket_lifecycle_configuration(Bucket="media")["Rules"], key=lambda r: r["ID"])
    assert rules == [
        {
            "ID": "abort-uploads",
            "Prefix": "",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        },
        {"ID": "expire-backups", "Prefix": "backups/", "Status": "Enabled", "Expiration": {"Days": 30}},
    ]
    assert client.get_bucket_versioning(Bucket="media")["Status"] == "Enabled"
    result = created.result("b")["bucket"]
    assert result["origin"] == "media.nyc3.digitaloceanspaces.com" and result["acl"] == "private"

    # Lifecycle rules in another order, methods and origins inside a CORS rule reordered: unchanged, no write.
    same = {
        **args,
        "cors": [
            {
                **CORS[0],
                "allowed_methods": ["PUT", "GET"],
                "allowed_origins": list(reversed(CORS[0]["allowed_origins"])),
            },
            CORS[1],
        ],
        "lifecycle": list(reversed(LIFECYCLE)),
    }
    mark = s3.mark()
    again = s3.play([bucket(**same)])
    assert again.rc == 0 and again.changed == 0, again.result("b")
    assert s3.writes(mark) == []
    assert s3.play([bucket(**same)], check=True).changed == 0

    # CORS rule order matters to S3 (the first match applies): swapping the rules is a change.
    swapped = s3.play([bucket(**{**args, "cors": list(reversed(CORS))})], check=True, diff=True)
    assert swapped.changed == 1 and s3.writes(mark) == []


def test_update_in_place_and_delete(s3):
    assert s3.play([bucket(name="media", cors=CORS, lifecycle=LIFECYCLE)]).rc == 0
    changed = {
        "name": "media",
        "acl": "public-read",
        "cors": [],
        "lifecycle": [{**LIFECYCLE[0], "expiration_days": 7}],
        "versioning": False,
    }

    mark = s3.mark()
    check = s3.play([bucket(**changed)], check=True, diff=True)
    diff = check.result("b")["diff"]
    assert check.changed == 1 and s3.writes(mark) == []
    assert (diff["before"]["acl"], diff["after"]["acl"]) == ("private", "public-read")
    assert diff["after"]["cors"] == [] and diff["after"]["lifecycle"][0]["expiration_days"] == 7
    assert diff["after"]["versioning"] == "Disabled", "never-versioned stays so; nothing to suspend"

    update = s3.play([bucket(**changed)])
    assert update.rc == 0 and update.changed == 1, update.result("b")
    assert sorted(s3.writes(mark)) == [
        ("DELETE", "/media", "cors"),
        ("PUT", "/media", "acl"),
        ("PUT", "/media", "lifecycle"),
    ]
    client = s3.client()
    assert client.get_bucket_lifecycle_configuration(Bucket="media")["Rules"] == [
        {"ID": "expire-backups", "Prefix": "backups/", "Status": "Enabled", "Expiration": {"Days": 7}}
    ]
    assert s3.play([bucket(**changed)]).changed == 0

    suspended = s3.play([bucket(name="media", versioning=True)])
    assert suspended.changed == 1
    suspended = s3.play([bucket(name="media", versioning=False)])
    assert suspended.changed == 1 and client.get_bucket_versioning(Bucket="media")["Status"] == "Suspended"

    client.put_object(Bucket="media", Key="photo.jpg", Body=b"x")
    full = s3.play([bucket(name="media", state="absent")])
    message = full.result("b")["msg"]
    assert full.failed and "deleting Spaces bucket media in nyc3 failed: HTTP 409 BucketNotEmpty" in message
    client.delete_object(Bucket="media", Key="photo.jpg")
    for version in client.list_object_versions(Bucket="media").get("DeleteMarkers", []) + client.list_object_versions(
        Bucket="media"
    ).get("Versions", []):
        client.delete_object(Bucket="media", Key=version["Key"], VersionId=version["VersionId"])

    mark = s3.mark()
    gone = s3.play([bucket(name="media", state="absent")], diff=True)
    assert gone.changed == 1 and gone.result("b")["diff"]["before"]["name"] == "media"
    assert s3.writes(mark) == [("DELETE", "/media", "")]
    assert s3.play([bucket(name="media", state="absent")]).changed == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"name": "ab"}, "must be 3 to 63 characters long"),
        ({"name": "Media"}, "use only lowercase letters, digits"),
        ({"name": "media_files"}, "use only lowercase letters, digits"),
        ({"name": "192.168.10.20"}, "must not look like an IP address"),
        ({"name": "my..media"}, "'.' may not be next to another '.' or a '-'"),
        ({"name": "xn--media"}, "prefix or suffix S3 reserves"),
        ({"name": "media", "lifecycle": [{"prefix": "logs/"}]}, "lifecycle[0] (logs/): give expiration_days"),
        (
            {"name": "media", "lifecycle": [{"id": "a", "expiration_days": 1}, {"id": "a", "expiration_days": 2}]},
            "rule id 'a' is used twice",
        ),
        ({"name": "media", "lifecycle": [{"id": "a", "expiration_days": 0}]}, "expiration_days must be at least 1"),
        (
            {"name": "media", "cors": [{"allowed_origins": ["*"], "allowed_methods": ["FETCH"]}]},
            "allowed_methods must be one or more of: GET, PUT, POST, DELETE, HEAD",
        ),
        ({"name": "media", "endpoint": "ftp://spaces"}, "endpoint must start with https:// or http://"),
    ],
)
def test_bad_input_fails_before_any_call(s3, args, expected):
    result = s3.play([bucket(**args)])
    assert result.failed
    message = result.result("b")["msg"]
    assert expected in message and "Traceback" not in message
    assert s3.log == [], "rejected before any request"


def test_missing_keys_fail_clearly(s3):
    result = s3.play([bucket(name="media")], env_override={"DIGITALOCEAN_SPACES_ENDPOINT": s3.url})
    assert result.failed
    assert "No Spaces access_key and secret_key" in result.result("b")["msg"]
    assert s3.log == []


def test_token_options_are_accepted_and_an_unreachable_endpoint_is_clear(s3):
    s3.client().create_bucket(Bucket="theirs", CreateBucketConfiguration={"LocationConstraint": "nyc3"})
    tasks = [
        dict(
            bucket(register="t", name="theirs", token="ignored", api_url="https://api.digitalocean.com"),
            ignore_errors=True,
        ),
        bucket(register="u", name="nowhere", endpoint="http://127.0.0.1:9"),
    ]
    result = s3.play(tasks)
    assert result.result("t").get("failed") is not True and result.result("t")["changed"] is False
    message = result.result("u")["msg"]
    assert "reading Spaces bucket nowhere in nyc3 failed: no answer from the Spaces endpoint" in message
