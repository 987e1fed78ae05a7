"""One small "infrastructure" play used by the fault test and the provisioning benchmark:
a VPC, a fleet of droplets in it, two Cloud Firewalls, a domain and its records."""

from __future__ import annotations

ANY = ["0.0.0.0/0", "::/0"]


def tcp(port: str) -> dict:
    return {"protocol": "tcp", "ports": port, "sources": {"addresses": ANY}}


def infrastructure(droplets: int, records: int = 3) -> list[dict]:
    def task(title, module, /, **args):
        return {"name": title, f"seaworthy.digitalocean.{module}": args}

    fleet = {"name": "app-{n}", "count": droplets, "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-13-x64"}
    return [
        task("vpc", "vpc", name="app-production-vpc", region="nyc3", ip_range="10.116.0.0/20"),
        task("droplets", "droplet", vpc="app-production-vpc", tags=["role:web", "env:production"], **fleet),
        task(
            "web firewall",
            "firewall",
            name="app-web",
            inbound_rules=[tcp("22"), tcp("80"), tcp("443")],
            tags=["role:web"],
        ),
        task("admin firewall", "firewall", name="app-admin", inbound_rules=[tcp("9100")], tags=["env:production"]),
        task("domain", "domain", name="app.example.com"),
        *[
            task(
                f"record {i}",
                "domain_record",
                domain="app.example.com",
                type="A",
                name=f"host{i}",
                data=f"203.0.113.{i + 10}",
            )
            for i in range(records)
        ],
    ]
