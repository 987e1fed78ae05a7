"""Spaces access keys on the emulator, through pydo: grants, the once-shown secret, filters, pages."""

from __future__ import annotations

import pytest


@pytest.fixture
def s3_keys(emulator):
    """What the memory storage backend accepts (access key -> secret, grants)."""
    return emulator.app.backends.storage.keys


def test_key_lifecycle_secret_shown_once(do_client, s3_keys):
    grants = [{"bucket": "my-bucket", "permission": "read"}, {"bucket": "my-bucket2", "permission": "readwrite"}]
    created = do_client.spaces_key.create({"name": "app-key", "grants": grants})["key"]
    access, secret = created["access_key"], created["secret_key"]
    assert access.startswith("DO") and len(access) == 20 and len(secret) == 43
    assert created["grants"] == grants and created["created_at"]
    assert s3_keys[access] == {"secret_key": secret, "grants": grants}

    fetched = do_client.spaces_key.get(access)["key"]
    assert "secret_key" not in fetched and fetched == {k: v for k, v in created.items() if k != "secret_key"}
    listed = do_client.spaces_key.list()["keys"]
    assert [k["access_key"] for k in listed] == [access] and "secret_key" not in listed[0]

    renamed = do_client.spaces_key.update(access, {"name": "renamed"})["key"]
    assert renamed["name"] == "renamed" and renamed["grants"] == grants and "secret_key" not in renamed
    narrowed = do_client.spaces_key.patch(access, {"name": "renamed", "grants": grants[:1]})["key"]
    assert narrowed["grants"] == grants[:1]
    assert s3_keys[access]["grants"] == grants[:1]

    assert do_client.spaces_key.delete(access) is None
    assert do_client.spaces_key.get(access)["id"] == "not_found"
    assert access not in s3_keys


def test_fullaccess_and_scoped_grants_do_not_mix(do_client):
    full = do_client.spaces_key.create({"name": "admin", "grants": [{"bucket": "", "permission": "fullaccess"}]})["key"]
    assert full["grants"] == [{"bucket": "", "permission": "fullaccess"}]
    none = do_client.spaces_key.create({"name": "no-grant", "grants": []})["key"]
    assert none["grants"] == []

    mixed = do_client.spaces_key.create(
        {
            "name": "mixed",
            "grants": [{"bucket": "", "permission": "fullaccess"}, {"bucket": "b-one", "permission": "read"}],
        }
    )
    assert mixed["id"] == "bad_request" and "cannot mix" in mixed["message"]
    converted = do_client.spaces_key.update(
        full["access_key"], {"name": "admin", "grants": [{"bucket": "b-one", "permission": "read"}]}
    )
    assert converted["id"] == "bad_request" and "converted" in converted["message"]
    assert do_client.spaces_key.get(full["access_key"])["key"]["grants"] == full["grants"]

    for grant, words in (
        ({"bucket": "b-one", "permission": "write"}, "invalid permission"),
        ({"bucket": "Bad_Bucket", "permission": "read"}, "invalid bucket name"),
        ({"bucket": "b-one", "permission": "fullaccess"}, "must be empty"),
    ):
        refused = do_client.spaces_key.create({"name": "bad", "grants": [grant]})
        assert refused["id"] == "bad_request" and words in refused["message"]
    assert do_client.spaces_key.create({"grants": []})["id"] == "bad_request"
    assert {k["name"] for k in do_client.spaces_key.list()["keys"]} == {"admin", "no-grant"}


def test_list_filters_sort_and_pages(do_client):
    for n in range(25):
        bucket = "alpha" if n % 2 else "beta"
        permission = "readwrite" if n % 5 == 0 else "read"
        do_client.spaces_key.create({"name": f"key-{n:02d}", "grants": [{"bucket": bucket, "permission": permission}]})

    first = do_client.spaces_key.list(per_page=10)
    assert first["meta"]["total"] == 25 and len(first["keys"]) == 10
    assert set(first["links"]["pages"]) == {"last", "next"}
    assert [k["name"] for k in first["keys"]][:2] == ["key-24", "key-23"], "newest first by default"
    last = do_client.spaces_key.list(per_page=10, page=3)
    assert len(last["keys"]) == 5 and set(last["links"]["pages"]) == {"first", "prev"}

    ascending = do_client.spaces_key.list(sort="name", sort_direction="asc", per_page=200)["keys"]
    assert [k["name"] for k in ascending] == [f"key-{n:02d}" for n in range(25)]
    assert do_client.spaces_key.list(bucket="alpha")["meta"]["total"] == 12
    assert do_client.spaces_key.list(permission="readwrite")["meta"]["total"] == 5
    assert [k["name"] for k in do_client.spaces_key.list(name="key-07")["keys"]] == ["key-07"]
    both = do_client.spaces_key.list(bucket="beta", permission="readwrite", per_page=200)["keys"]
    assert sorted(k["name"] for k in both) == ["key-00", "key-10", "key-20"]
