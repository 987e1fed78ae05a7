"""Helpers the networking families' tests share: raw requests, refused calls, test Droplets."""

from __future__ import annotations

import requests
from azure.core.exceptions import HttpResponseError


def api(emulator, method: str, path: str, **kwargs) -> requests.Response:
    """A request pydo cannot express (or must not tidy up), straight to the emulator."""
    headers = {"Authorization": f"Bearer {emulator.token}"}
    return requests.request(
        method, emulator.url + path, headers=headers, verify=str(emulator.ca_bundle), timeout=10, **kwargs
    )


def refused(call, *args, **kwargs) -> dict:
    """The DigitalOcean error body of a refused call.

    pydo returns the parsed body for the error statuses the spec documents for
    an operation and raises for the others; `status` is added when pydo raised.
    """
    try:
        result = call(*args, **kwargs)
    except HttpResponseError as exc:
        return {**exc.response.json(), "status": exc.status_code}
    assert isinstance(result, dict) and {"id", "message"} <= set(result), f"expected an error, got {result!r}"
    return result


def droplet(do_client, name: str, region: str = "nyc3", **extra) -> dict:
    """A Droplet made through the API, already active (delays are zero in tests)."""
    body = {"name": name, "region": region, "size": "s-1vcpu-1gb", "image": "debian-12-x64", **extra}
    created = do_client.droplets.create(body)["droplet"]
    return do_client.droplets.get(created["id"])["droplet"]
