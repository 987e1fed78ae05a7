"""What the backup scenario's tests know about its machines and services."""

from __future__ import annotations

import json
import os
import shlex
import subprocess

from tests.support.molecule import container_host

SCENARIO = os.environ["MOLECULE_SCENARIO_NAME"]
TOOL = "seaworthy-backup"


DROPLET = container_host("droplet-1")
CLIENT = container_host("client")
PG = container_host("pg")
MARIADB = container_host("mariadb")


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout  # noqa: S603, S607


def run(command: str, expect: int | None = 0):
    result = DROPLET.run(command)
    if expect is not None:
        assert result.rc == expect, f"{command}: rc={result.rc}\n{result.stdout}\n{result.stderr}"
    return result


def tool_json(args: str):
    return json.loads(run(f"{TOOL} {args}").stdout.strip().splitlines()[-1])


def backups(job: str) -> list[dict]:
    return json.loads(run(f"{TOOL} list {shlex.quote(job)} --json").stdout)


def webhooks() -> list[dict]:
    content = CLIENT.run("cat /var/lib/webhooks.jsonl 2>/dev/null").stdout
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def failures(job: str) -> list[dict]:
    return [h["body"] for h in webhooks() if h["path"] == "/hook" and h["body"]["job"] == job]


def psql(database: str, sql: str) -> str:
    result = PG.run(f"runuser -u postgres -- psql -X -At -d {shlex.quote(database)} -c {shlex.quote(sql)}")
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def mariadb(sql: str) -> str:
    result = MARIADB.run(f"mariadb --batch --skip-column-names -e {shlex.quote(sql)}")
    assert result.rc == 0, result.stderr
    return result.stdout.strip()
