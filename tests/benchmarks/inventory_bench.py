"""Wall time and API calls of `ansible-inventory --list` over a fleet of droplets in the emulator.

    .venv/bin/python -m tests.benchmarks.inventory_bench [--droplets 1000] [--runs 5]

Measures seaworthy.digitalocean.droplets (cold, and with a warm cache) and, when the
environment has it (the `ansible` package bundles it), community.digitalocean.digitalocean,
against the same emulator in the same run. Target (issue 7): ceil(N/200) list calls, none
with a warm cache. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pydo

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator
from tests.support.tools import tool

REPO = Path(__file__).resolve().parents[2]
REGIONS = ["nyc3", "fra1", "sgp1", "ams3"]
SIZES = ["s-1vcpu-1gb", "s-2vcpu-4gb"]
PROJECTS = ["freshtrack", "malar", "ma-electrical", "ledger", "atlas"]
ROLES = ["web", "worker", "db"]


def seed(emulator: Emulator, count: int) -> None:
    """`count` droplets, 10 per create call, spread over projects, environments, roles, regions and sizes."""
    client = pydo.Client(token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle))
    for batch in range(math.ceil(count / 10)):
        project, role = PROJECTS[batch % len(PROJECTS)], ROLES[batch % len(ROLES)]
        env = "production" if batch % 2 else "staging"
        names = [f"{project}-{env}-{role}-{batch * 10 + i + 1}" for i in range(min(10, count - batch * 10))]
        client.droplets.create(
            {
                "names": names,
                "region": REGIONS[batch % len(REGIONS)],
                "size": SIZES[batch % len(SIZES)],
                "image": "debian-13-x64",
                "tags": [f"project:{project}", f"env:{env}", f"role:{role}", "monitoring"],
            }
        )


def community_plugin_present() -> bool:
    probe = subprocess.run(
        [tool("ansible-doc"), "-t", "inventory", "--json", "community.digitalocean.digitalocean"],
        capture_output=True,
        text=True,
        check=False,
        env=run_env({}),
    )
    return probe.returncode == 0 and "community.digitalocean.digitalocean" in probe.stdout


def run_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")}
    return {**env, **extra, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}


def run_once(emulator: Emulator, config: Path, env: dict[str, str]) -> tuple[float, float, int, dict]:
    """One `ansible-inventory --list`: wall time, its CPU time (steadier on a busy machine), API calls, the listing."""
    mark = emulator.mark()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        [tool("ansible-inventory"), "-i", str(config), "--list"],
        cwd=REPO,
        env=run_env(env),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{config}: ansible-inventory failed:\n{proc.stderr}")
    calls = len([r for r in emulator.requests(mark) if r["path"].startswith("/v2/")])
    return wall, cpu, calls, json.loads(proc.stdout)


def measure(emulator: Emulator, configs: dict[str, Path], runs: int, env: dict[str, str]) -> dict[str, dict]:
    """Per configuration: wall times, API calls per run, hosts and groups. Runs interleave, so load spikes
    on a shared machine hit every configuration alike."""
    results = {name: {"walls": [], "cpus": [], "calls": []} for name in configs}
    for _ in range(runs):
        for name, config in configs.items():
            wall, cpu, calls, listing = run_once(emulator, config, env)
            result = results[name]
            result["walls"].append(wall)
            result["cpus"].append(cpu)
            result["calls"].append(calls)
            result["hosts"] = len(listing["_meta"]["hostvars"])
            result["groups"] = len([g for g in listing if g not in ("_meta", "all", "ungrouped")])
    for result in results.values():
        result["wall"] = statistics.median(result["walls"])
        result["best"] = min(result["walls"])
        result["cpu"] = statistics.median(result["cpus"])
    return results


def line(name: str, result: dict) -> str:
    runs = ", ".join(f"{w:.2f}" for w in result["walls"])
    return (
        f"{name:<46} wall median {result['wall']:5.2f} s, best {result['best']:5.2f} s (runs: {runs}); "
        f"CPU median {result['cpu']:5.2f} s; API calls per run: {result['calls']}  hosts {result['hosts']}, groups {result['groups']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--droplets", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    emulator = Emulator(
        EmulatorConfig.from_env(port=0, validate=False, rate_per_minute=None, rate_per_hour=None)
    ).start()
    try:
        started = time.perf_counter()
        seed(emulator, args.droplets)
        print(
            f"seeded {args.droplets} droplets in {time.perf_counter() - started:.1f} s "
            f"(emulator {emulator.url}, spec validation off); "
            f"expected list calls: ceil({args.droplets}/200) = {math.ceil(args.droplets / 200)}"
        )
        env = emulator.client_env()
        with tempfile.TemporaryDirectory() as tmp:
            ours = Path(tmp) / "seaworthy" / "droplets.yml"
            ours.parent.mkdir()
            ours.write_text("plugin: seaworthy.digitalocean.droplets\n")
            cached = Path(tmp) / "cached" / "droplets.yml"
            cached.parent.mkdir()
            cached.write_text(
                "plugin: seaworthy.digitalocean.droplets\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                f"cache_connection: {tmp}/cache\ncache_timeout: 3600\n"
            )
            # The community plugin's default host variables, and no groups: the same output to produce.
            matched = Path(tmp) / "matched" / "droplets.yml"
            matched.parent.mkdir()
            matched.write_text(
                "plugin: seaworthy.digitalocean.droplets\nattributes: [id, name, networks, region, size]\n"
                "keyed_groups: []\n"
            )
            configs = {
                "seaworthy.digitalocean.droplets": ours,
                "seaworthy, community's attributes, no groups": matched,
                "seaworthy.digitalocean.droplets, cache warm": cached,
            }
            run_once(emulator, cached, env)  # fills the cache
            if community_plugin_present():
                theirs = Path(tmp) / "community" / "digitalocean.yml"
                theirs.parent.mkdir()
                theirs.write_text(
                    "plugin: community.digitalocean.digitalocean\n"
                    f"oauth_token: {emulator.token}\nbaseurl: {emulator.url}/v2\n"
                )
                configs["community.digitalocean.digitalocean"] = theirs
            else:
                print("community.digitalocean.digitalocean: not in this environment, not measured")
            results = measure(emulator, configs, args.runs, env)
        for name, result in results.items():
            print(line(name, result))
        if "community.digitalocean.digitalocean" in results:
            theirs = results["community.digitalocean.digitalocean"]
            ratios = ", ".join(
                f"{label} {results[name]['wall'] / theirs['wall']:.2f} (best {results[name]['best'] / theirs['best']:.2f}, "
                f"CPU {results[name]['cpu'] / theirs['cpu']:.2f})"
                for label, name in (
                    ("defaults", "seaworthy.digitalocean.droplets"),
                    ("same output", "seaworthy, community's attributes, no groups"),
                    ("warm cache", "seaworthy.digitalocean.droplets, cache warm"),
                )
            )
            print(
                f"ratio seaworthy / community, median wall time: {ratios}; API calls: "
                f"{results['seaworthy.digitalocean.droplets']['calls'][0]} / {theirs['calls'][0]}"
            )
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
