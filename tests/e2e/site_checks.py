"""The assertions every end-to-end inventory passes (issue 12), written once.

A test module subclasses `SiteE2E` with its inventory's facts; the class-scoped fixture
starts an emulator with real backing, runs site.yml three times (first, second, --check)
and the tests check what a person would: the app over HTTPS with a Pebble certificate,
data written through the app in the database, a backup, root refused over SSH, and that
the second run and --check change nothing.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import ClassVar

from tests.e2e.site_run import REPO, emulator_for, run_site, site_env

SSH = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
SSH += ["-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20"]

# Reads the application's table through its own connection (the app container's
# DATABASE_URL), so the managed database and the container database are checked alike.
READ_NOTES = """
import os, urllib.parse
url = os.environ["DATABASE_URL"]
if url.startswith("mysql"):
    import pymysql
    u = urllib.parse.urlsplit(url)
    conn = pymysql.connect(host=u.hostname, port=u.port or 3306, user=urllib.parse.unquote(u.username),
                           password=urllib.parse.unquote(u.password or ""), database=u.path.lstrip("/"))
else:
    import psycopg2
    conn = psycopg2.connect(url)
cur = conn.cursor()
cur.execute("SELECT body FROM notes ORDER BY id")
print("\\n".join(row[0] for row in cur.fetchall()))
"""


class SiteE2E:
    inventory = ""
    overlay = ""  # tests/e2e/overlays/<name>.yml: the emulator's endpoints over the seed
    image_map = ""  # EMULATOR_IMAGE_MAP: the seed's image slug onto the local droplet image
    env_overrides: ClassVar[dict[str, str]] = {}
    project = ""
    env = ""
    domain = ""
    web_service = "web"
    app_path = "/"  # where the proxy sends to the application
    version = ""
    region = "nyc3"
    backup_bucket = ""  # empty: the seed keeps the provider's managed backups

    @classmethod
    def extra_env(cls) -> dict[str, str]:
        """More environment for the runs (e.g. an image built for this inventory)."""
        return {}

    @classmethod
    def droplet_ip(cls, emulator) -> str:
        import pydo

        client = pydo.Client(token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle))
        droplets = client.droplets.list(tag_name=f"env:{cls.env}")["droplets"]
        droplets = [d for d in droplets if f"project:{cls.project}" in d["tags"]]
        assert [d["name"] for d in droplets] == [f"{cls.project}-{cls.env}-web-1"]
        return next(n["ip_address"] for n in droplets[0]["networks"]["v4"] if n["type"] == "public")

    # -- helpers -------------------------------------------------------------------
    def first_ok(self, site):
        first = site["runs"]["first"]
        assert first.rc == 0, first.failures() or first.stderr or first.stdout_tail

    def https(self, site, path, data=None):
        self.first_ok(site)
        cmd = ["curl", "-sS", "--max-time", "20", "--fail-with-body", "--cacert", site["env"]["SEAWORTHY_ACME_ROOT"]]
        cmd += ["--resolve", f"{self.domain}:443:{site['ip']}", f"https://{self.domain}{path}"]
        if data is not None:
            cmd += ["-X", "POST", "--data-raw", data]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        return json.loads(proc.stdout)

    def ssh(self, site, command: str, user: str = "deploy") -> subprocess.CompletedProcess:
        key = site["env"]["SEAWORTHY_CREDENTIALS_DIR"] + "/id_ed25519"
        return subprocess.run(
            [*SSH, "-i", key, f"{user}@{site['ip']}", command], capture_output=True, text=True, check=False
        )

    # -- the assertions ------------------------------------------------------------
    def test_the_app_answers_over_https_with_a_pebble_certificate(self, site):
        assert self.https(site, self.app_path)["version"] == self.version
        pem = subprocess.run(
            ["openssl", "s_client", "-connect", f"{site['ip']}:443", "-servername", self.domain],
            input="",
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        ).stdout
        issuer = subprocess.run(
            ["openssl", "x509", "-noout", "-issuer"], input=pem, capture_output=True, text=True, check=False
        ).stdout
        assert "Pebble" in issuer, issuer

    def test_the_database_keeps_data_written_through_the_app(self, site):
        note = f"written by the e2e test of {self.inventory}"
        assert self.https(site, self.app_path + "notes", data=note)["stored"] == note
        container = (  # the live slot's container of the web service: <project>-<blue|green>-<service>-<n>-1
            "$(sudo docker ps --format '{{.Names}}' | "
            f"grep -E '^{self.project}-(blue|green)-{self.web_service}-[0-9]+-1$' | head -1)"
        )
        read = self.ssh(site, f"sudo docker exec -i {container} python3 - <<'PY'\n{READ_NOTES}\nPY")
        assert read.returncode == 0, read.stderr
        assert note in read.stdout.splitlines(), read.stdout

    def test_root_cannot_log_in_over_ssh(self, site):
        self.first_ok(site)
        assert self.ssh(site, "true", user="root").returncode != 0
        assert self.ssh(site, "true").returncode == 0

    def test_a_backup_exists(self, site):
        self.first_ok(site)
        if not self.backup_bucket:
            return self._managed_backup_listed(site)
        import boto3

        started = self.ssh(site, "sudo systemctl start seaworthy-backup@database.service")
        assert started.returncode == 0, (
            started.stderr
            + self.ssh(site, "sudo journalctl -u seaworthy-backup@database.service --no-pager -n 30").stdout
        )
        credentials = json.loads((Path(site["env"]["SEAWORTHY_CREDENTIALS_DIR"]) / "spaces-admin.json").read_text())
        s3 = boto3.client(
            "s3",
            endpoint_url=site["env"]["DIGITALOCEAN_SPACES_ENDPOINT"],
            region_name=self.region,
            aws_access_key_id=credentials["access_key"],
            aws_secret_access_key=credentials["secret_key"],
            verify=site["env"]["AWS_CA_BUNDLE"],
        )
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=self.backup_bucket).get("Contents", [])]
        assert any("/database/" in k for k in keys), keys

    def _managed_backup_listed(self, site):
        import pydo

        emulator = site["emulator"]
        client = pydo.Client(token=emulator.token, endpoint=emulator.url, connection_verify=str(emulator.ca_bundle))
        clusters = [
            c for c in client.databases.list_clusters()["databases"] if c["name"] == f"{self.project}-{self.env}-db"
        ]
        assert clusters, "no managed database cluster"
        assert client.databases.list_backups(clusters[0]["id"])["backups"], "the managed database lists no backup"

    def test_a_second_run_changes_nothing(self, site):
        self.first_ok(site)
        second = site["runs"]["second"]
        assert second.rc == 0, second.failures()
        assert second.changed == 0, second.changed_tasks()

    def test_check_mode_on_the_converged_stack_changes_nothing(self, site):
        self.first_ok(site)
        check = site["runs"]["check"]
        assert check.rc == 0, check.failures()
        assert check.changed == 0, check.changed_tasks()


def site_runs(cls):
    """site.yml first, second and --check on cls.inventory against a fresh emulator (a generator:
    the class-scoped `site` fixture in conftest.py drives it)."""
    with (
        tempfile.TemporaryDirectory(prefix=f"e2e-{cls.inventory}-") as tmp,
        emulator_for(Path(tmp) / "emu", image_map=cls.image_map) as emulator,
    ):
        env = site_env(emulator, Path(tmp) / "credentials")
        env.update(cls.env_overrides)
        env.update(cls.extra_env())
        args = ["-e", f"@{REPO / 'tests' / 'e2e' / 'overlays' / cls.overlay}"] if cls.overlay else []
        runs = {}
        for label, extra in (("first", []), ("second", []), ("check", ["--check"])):
            run = run_site(emulator, env, cls.inventory, *args, *extra)
            runs[label] = run
            line = (
                f"[{cls.inventory}] site.yml {label} run: {run.seconds:.0f} s, {run.api_calls} API calls, "
                f"{run.ssh_tasks} SSH tasks, changed={run.changed}, rc={run.rc}"
            )
            print("\n" + line)
            with (REPO / ".cache" / "e2e" / "timings.log").open("a") as timings:  # `make e2e` prints it
                timings.write(time.strftime("%Y-%m-%d %H:%M:%S ") + line + "\n")
            if label == "first" and run.rc != 0:
                break
        yield {"env": env, "emulator": emulator, "runs": runs, "ip": cls.droplet_ip(emulator)}
