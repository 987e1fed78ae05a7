"""Compute backing: where a droplet runs and which addresses it gets."""

from __future__ import annotations

import ipaddress
import itertools


class ComputeBackend:
    """Interface. Calls happen under the store lock; keep them short or asynchronous."""

    def image_error(self, image: dict) -> str | None:
        """Why droplets cannot boot `image` here (a 422 message), or None when they can."""
        return None

    def after_write(self, store) -> None:
        """Bring derived state (e.g. enforced Cloud Firewalls) in line after any API write."""

    def create(self, droplet: dict, *, user_data: str | None, ssh_public_keys: list[str], vpc: dict | None) -> None:
        """Start making the droplet exist (returns at once)."""

    def poll_ready(self, droplet: dict) -> dict | None:
        """`networks` ({"v4": [...], "v6": [...]}) once the droplet is up, else None."""
        raise NotImplementedError

    def power(self, droplet: dict, on: bool) -> None:
        """Power the droplet on or off (also used for shutdown)."""

    def reboot(self, droplet: dict) -> None:
        """Restart the droplet."""

    def resize(self, droplet: dict, size: dict) -> None:
        """Give the droplet the memory/CPU of `size`."""

    def snapshot(self, droplet: dict, image: dict) -> None:
        """Make `image` (a snapshot) bootable by later creates."""

    def rebuild(self, droplet: dict, image: dict) -> None:
        """Reinstall the droplet from `image`, keeping its addresses."""

    def enable_ipv6(self, droplet: dict) -> None:
        """Give the droplet a public IPv6 address; `poll_ready` reports it from now on."""

    def delete(self, droplet: dict) -> None:
        """Remove the droplet and what it owns."""

    def attach_volume(self, droplet: dict, volume: dict) -> None:
        """Plug the block storage `volume` into the droplet."""

    def detach_volume(self, droplet: dict, volume: dict) -> None:
        """Unplug `volume` from the droplet (its data stays)."""

    def resize_volume(self, volume: dict) -> None:
        """Grow the volume to its new `size_gigabytes`."""

    def reset(self) -> None:
        """Forget everything (emulator reset)."""

    def close(self) -> None:
        """Release what the backend started (emulator shutdown)."""


class MemoryCompute(ComputeBackend):
    """Nothing runs; a droplet is ready at once with invented, unique addresses.

    Public IPv4 comes from 198.18.0.0/15 (RFC 2544 benchmarking space: room for
    a 1,000-droplet fleet, never routed), private IPv4 from the droplet's VPC
    range, IPv6 from the documentation prefix.
    """

    PUBLIC = ipaddress.ip_network("198.18.0.0/15")

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self._public = itertools.islice(self.PUBLIC.hosts(), 1, None)
        self._private: dict[str, itertools.islice] = {}
        self._ipv6 = itertools.count(1)
        self._assigned: dict[int, dict] = {}

    def create(self, droplet, *, user_data, ssh_public_keys, vpc):
        public = str(next(self._public))
        networks = {
            "v4": [
                {
                    "ip_address": public,
                    "netmask": "255.254.0.0",
                    "gateway": str(self.PUBLIC.network_address + 1),
                    "type": "public",
                }
            ],
            "v6": [],
        }
        if vpc:
            net = ipaddress.ip_network(vpc["ip_range"])
            pool = self._private.setdefault(vpc["id"], itertools.islice(net.hosts(), 1, None))
            networks["v4"].append(
                {
                    "ip_address": str(next(pool)),
                    "netmask": str(net.netmask),
                    "gateway": "<nil>",
                    "type": "private",
                }
            )
        if "ipv6" in droplet.get("features", []):
            networks["v6"].append(self._new_ipv6())
        self._assigned[droplet["id"]] = networks

    def _new_ipv6(self) -> dict:
        n = next(self._ipv6)
        return {
            "ip_address": f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::1",
            "netmask": 64,
            "gateway": "2001:db8::1",
            "type": "public",
        }

    def enable_ipv6(self, droplet):
        networks = self._assigned.get(droplet["id"])
        if networks is not None and not networks["v6"]:
            networks["v6"].append(self._new_ipv6())

    def poll_ready(self, droplet):
        return self._assigned.get(droplet["id"])

    def delete(self, droplet):
        self._assigned.pop(droplet["id"], None)
