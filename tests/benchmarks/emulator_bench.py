"""Emulator startup time and the cost of checking one exchange against the OpenAPI spec.

    .venv/bin/python -m tests.benchmarks.emulator_bench [--requests N]

Targets (issue 3): start in under 2 s; validate a request + response in well under 50 ms.
Prints numbers; asserts nothing (benchmarks are read, not gated).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.emulator.config import EmulatorConfig
from tests.emulator.server import Emulator


def process_startup(data_dir: Path) -> float:
    """Wall time from launching `python -m tests.emulator` to its first answered request."""
    env = {"EMULATOR_PORT": "0", "EMULATOR_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tests.emulator"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[4]
        token = proc.stdout.readline().split()[-1]
        requests.get(
            url + "/v2/account",
            headers={"Authorization": f"Bearer {token}"},
            verify=str(data_dir / "bundle.pem"),
            timeout=10,
        ).raise_for_status()
        return time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        process_startup(data_dir)  # first run also generates the test CA; measure warm starts
        starts = [process_startup(data_dir) for _ in range(3)]
        print(
            f"process start to first answer: median {statistics.median(starts):.2f} s (runs: {', '.join(f'{s:.2f}' for s in starts)})"
        )

        timings: dict[str, list[float]] = {}
        for validate in (False, True):
            emulator = Emulator(
                EmulatorConfig.from_env(
                    port=0, data_dir=data_dir, validate=validate, rate_per_minute=None, rate_per_hour=None
                )
            ).start()
            if validate:
                print(
                    f"in-process start with spec loaded: {emulator.startup_seconds:.2f} s (spec load {emulator.app.validator.load_seconds:.2f} s)"
                )
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {emulator.token}"
            session.verify = str(emulator.ca_bundle)
            session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides verify
            key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk5zQ9pVb0qXfXKj9hXyGQ1p3YV5cM7m5p2wR3a1z0E bench"
            session.post(
                emulator.url + "/v2/account/keys", json={"name": "bench", "public_key": key}
            ).raise_for_status()
            for path in ("/v2/account/keys", "/v2/sizes?per_page=200"):
                samples = []
                for _ in range(args.requests):
                    mark = time.perf_counter()
                    session.get(emulator.url + path).raise_for_status()
                    samples.append(time.perf_counter() - mark)
                timings[f"{path} validate={validate}"] = samples
            emulator.stop()
        for path in ("/v2/account/keys", "/v2/sizes?per_page=200"):
            off = statistics.median(timings[f"{path} validate=False"])
            on = statistics.median(timings[f"{path} validate=True"])
            p95 = sorted(timings[f"{path} validate=True"])[int(0.95 * args.requests) - 1]
            print(
                f"GET {path}: {off * 1000:.1f} ms without checks, {on * 1000:.1f} ms with (p95 {p95 * 1000:.1f} ms); request+response check = {(on - off) * 1000:.1f} ms"
            )


if __name__ == "__main__":
    main()
