"""Emulator settings, from the environment (`make emulator`) or from code (the pytest fixture)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TOKEN = "seaworthy-emulator-token"  # documented in README and tests/emulator/README.md
_SPEC_IN_SHARED = Path("shared", "do-openapi", "specification", "DigitalOcean-public.v2.yaml")


def _default_spec() -> Path:
    """../shared/do-openapi beside the checkout; failing that, beside one of its parents.

    A second clone (CI's, or one made to test a clean checkout) may sit one level deeper
    than the main checkout; the spec is read in place, never copied into the project.
    """
    for parent in REPO.parents:
        if (parent / _SPEC_IN_SHARED).exists():
            return parent / _SPEC_IN_SHARED
    return REPO.parent / _SPEC_IN_SHARED


DEFAULT_SPEC = _default_spec()


def _parse_rate_limit(text: str) -> tuple[int | None, int | None]:
    """'250/minute,5000/hour' -> (250, 5000); 'off' -> (None, None)."""
    per_minute = per_hour = None
    if text.strip().lower() in ("", "off", "none", "0"):
        return None, None
    for part in text.split(","):
        count, _sep, unit = part.strip().partition("/")
        if unit.startswith("min"):
            per_minute = int(count)
        elif unit.startswith("hour"):
            per_hour = int(count)
        else:
            raise ValueError(f"EMULATOR_RATELIMIT: cannot read {part!r} (use e.g. 250/minute,5000/hour or off)")
    return per_minute, per_hour


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8765  # HTTPS; plain HTTP listens on port + 1. 0 picks free ports.
    tokens: tuple[str, ...] = (DEFAULT_TOKEN,)
    data_dir: Path = REPO / ".cache" / "emulator"  # the test CA and server certificate live here
    state_file: Path | None = None  # persist state across restarts when set
    # Seconds a resource spends in each transitional state (droplet `new`, action
    # `in-progress`, database `creating`/`resizing`). Zero in unit tests.
    delay_droplet: float = 0.0
    delay_action: float = 0.0
    delay_database: float = 0.0
    # Rate limits enforced with 429 + Retry-After (None: report headers, never refuse).
    rate_per_minute: int | None = 250
    rate_per_hour: int | None = 5000
    validate: bool = True  # check every request and response against the OpenAPI spec
    spec_path: Path = DEFAULT_SPEC
    backing: str = "memory"  # "memory" or "docker" (real containers, databases, S3, DNS)
    image_map: str = ""  # docker backing: "ubuntu-24-04-x64=debian-13-x64,..." boots other slugs on the local image
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> EmulatorConfig:
        env = dict(os.environ if env is None else env)
        cfg = cls()
        if "EMULATOR_PORT" in env:
            cfg.port = int(env["EMULATOR_PORT"])
        if "EMULATOR_HOST" in env:
            cfg.host = env["EMULATOR_HOST"]
        if env.get("EMULATOR_TOKEN"):
            cfg.tokens = tuple(t.strip() for t in env["EMULATOR_TOKEN"].split(",") if t.strip())
        if env.get("EMULATOR_DATA_DIR"):
            cfg.data_dir = Path(env["EMULATOR_DATA_DIR"])
        if env.get("EMULATOR_STATE_FILE"):
            cfg.state_file = Path(env["EMULATOR_STATE_FILE"])
        if "EMULATOR_DELAY" in env:  # one knob for all transitional states
            cfg.delay_droplet = cfg.delay_action = cfg.delay_database = float(env["EMULATOR_DELAY"])
        for name in ("droplet", "action", "database"):
            key = f"EMULATOR_DELAY_{name.upper()}"
            if key in env:
                setattr(cfg, f"delay_{name}", float(env[key]))
        if "EMULATOR_RATELIMIT" in env:
            cfg.rate_per_minute, cfg.rate_per_hour = _parse_rate_limit(env["EMULATOR_RATELIMIT"])
        if "EMULATOR_VALIDATE" in env:
            cfg.validate = env["EMULATOR_VALIDATE"].lower() not in ("0", "false", "no", "off")
        if env.get("DO_OPENAPI_SPEC"):
            cfg.spec_path = Path(env["DO_OPENAPI_SPEC"])
        if env.get("EMULATOR_BACKING"):
            cfg.backing = env["EMULATOR_BACKING"]
        if env.get("EMULATOR_IMAGE_MAP"):
            cfg.image_map = env["EMULATOR_IMAGE_MAP"]
        known = {f.name for f in fields(cls)}
        for key, value in overrides.items():
            if key not in known:
                raise TypeError(f"unknown emulator setting {key!r}")
            setattr(cfg, key, value)
        return cfg
