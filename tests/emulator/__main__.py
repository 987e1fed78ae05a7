"""`make emulator`: run the DigitalOcean emulator in the foreground until Ctrl-C.

Settings come from the environment (see tests/emulator/README.md): EMULATOR_PORT
(8765; plain HTTP on the next port), EMULATOR_TOKEN, EMULATOR_STATE_FILE,
EMULATOR_DELAY, EMULATOR_RATELIMIT, EMULATOR_VALIDATE, EMULATOR_BACKING.
"""

from __future__ import annotations

import signal
import sys
import threading

from .config import EmulatorConfig
from .server import Emulator


def main() -> int:
    try:
        config = EmulatorConfig.from_env()
        emulator = Emulator(config).start()
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr)
        return 2
    env_file = config.data_dir / "env"
    env_file.write_text("".join(f"export {k}={v}\n" for k, v in emulator.client_env().items()))
    print(f"DigitalOcean emulator listening on {emulator.url} (HTTPS) and {emulator.http_url} (HTTP)")
    print(f"API token: {emulator.token}")
    print(f"CA file:   {emulator.ca_cert}   (system CAs + it: {emulator.ca_bundle})")
    print(f"Client environment: source {env_file}")
    services = emulator.services
    if "spaces" in services:
        spaces = services["spaces"]
        print(f"Spaces (S3): {spaces['endpoint']}   (in droplets also {spaces['regional_endpoint']})")
    if "dns" in services:
        print(f"DNS server:  {services['dns']['server']}   (the droplets' resolver; serves /v2/domains)")
    if "acme" in services:
        acme = services["acme"]
        print(f"ACME:        {acme['directory']}   issuing root: {acme['root']}")
    print(
        f"Backing: {config.backing}; spec validation: {'on' if config.validate else 'off'}; "
        f"state file: {config.state_file or 'none (memory only)'}; started in {emulator.startup_seconds:.2f} s",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    emulator.stop()
    print("emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
