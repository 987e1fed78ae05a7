"""Backups taken by the units restore to exactly the data that was dumped."""

import datetime as dt
import json

import pytest
from scenario import DROPLET, TOOL, backups, mariadb, psql, run, tool_json, webhooks

PG_FINGERPRINT = (
    "SELECT count(*), md5(string_agg(id || ':' || sensor || ':' || value || ':' || taken, ',' ORDER BY id))"
    " FROM readings"
)
MY_FINGERPRINT = "SELECT COUNT(*), SUM(total), BIT_XOR(CRC32(CONCAT_WS(':', id, customer, total))) FROM {db}.orders"


@pytest.fixture(scope="module", autouse=True)
def one_backup_of_each():
    for job in ("app-db", "shop-db", "uploads"):
        run(f"systemctl start seaworthy-backup@{job}.service")


def test_postgres_backup_restores_the_same_rows():
    latest = backups("app-db")[-1]
    assert latest["complete"] and latest["key"].endswith(".dump.zst") and len(latest["sha256"]) == 64
    result = tool_json("restore app-db --target scratch --scratch-database app_scratch --json")
    assert result == {**result, "database": "app_scratch", "backup": latest["key"], "sanity": 50000}
    original = psql("app", PG_FINGERPRINT)
    assert original.startswith("50000|")
    assert psql("app_scratch", PG_FINGERPRINT) == original
    assert psql("app_scratch", "SELECT string_agg(body, '|' ORDER BY id) FROM notes") == (
        psql("app", "SELECT string_agg(body, '|' ORDER BY id) FROM notes")
    )


def test_mysql_backup_restores_the_same_rows():
    latest = backups("shop-db")[-1]
    assert latest["complete"] and latest["key"].endswith(".sql.zst")
    tool_json("restore shop-db --target scratch --scratch-database shop_scratch --json")
    original = mariadb(MY_FINGERPRINT.format(db="shop"))
    assert original.startswith("20000\t")
    assert mariadb(MY_FINGERPRINT.format(db="shop_scratch")) == original


def test_path_backup_restores_the_same_files_without_the_excluded():
    run(f"{TOOL} restore uploads --directory /root/restored-uploads")
    diff = run("diff -r -x '*.tmp' /srv/uploads /root/restored-uploads/srv/uploads", expect=None)
    assert diff.rc == 0, diff.stdout
    assert not DROPLET.file("/root/restored-uploads/srv/uploads/upload-in-progress.tmp").exists


def test_live_restore_needs_confirmation_then_puts_files_back():
    refused = run(f"{TOOL} restore uploads --target live", expect=2)
    assert "--confirm-live" in refused.stderr
    run("rm /srv/uploads/readme.md")
    run(f"{TOOL} restore uploads --target live --confirm-live")
    assert DROPLET.file("/srv/uploads/readme.md").content_string == "# uploads\n"


def test_restore_tests_pass_and_are_recorded():
    for job in ("app-db", "shop-db"):
        run(f"systemctl start seaworthy-restore-test@{job}.service")
        stamp = DROPLET.file(f"/var/lib/seaworthy-backup/{job}.verify-restore.last_success").content_string
        assert dt.datetime.fromisoformat(stamp.strip().replace("Z", "+00:00")).year >= 2026
        # The scratch database is dropped after the test.
    assert psql("postgres", "SELECT count(*) FROM pg_database WHERE datname = 'app_restore_test'") == "0"
    assert DROPLET.file("/var/lib/seaworthy-backup/app-db.last_success").exists
    assert any(hook["path"] == "/ping" for hook in webhooks())


BACKDATE = """
import json, sys, boto3
sys.path.insert(0, "/usr/local/lib/seaworthy-backup")
import seaworthy_backup as sb
config = sb.load_config(sb.DEFAULT_CONFIG)
s3, bucket = sb.s3_client(config), config["s3"]["bucket"]
latest = [b for b in sb.list_backups(s3, config, "uploads") if b.complete][-1]
keys = []
for stamp in sys.argv[1:]:
    key = latest.key.replace(latest.created.strftime(sb.STAMP_FORMAT), stamp)
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": latest.key})
    s3.put_object(Bucket=bucket, Key=key + sb.MANIFEST_SUFFIX, Body=json.dumps({**latest.manifest, "key": key}).encode())
    keys.append(key)
print(json.dumps(keys))
"""


def test_retention_deletes_exactly_the_expired_backups():
    """Backdated copies of a real backup: the next scheduled run deletes exactly the expired ones."""
    now = dt.datetime.now(dt.UTC)
    ages = (45, 31, 29)
    stamps = " ".join((now - dt.timedelta(days=age)).strftime("%Y%m%dT%H%M%SZ") for age in ages)
    run(f"cat > /root/backdate.py <<'EOF'\n{BACKDATE}\nEOF")
    keys = dict(zip(ages, json.loads(run(f"python3 /root/backdate.py {stamps}").stdout), strict=True))
    before = {b["key"] for b in backups("uploads")}
    assert set(keys.values()) <= before
    run("systemctl start seaworthy-backup@uploads.service")  # backs up, then applies retention
    after = {b["key"] for b in backups("uploads")}
    new = after - before
    assert len(new) == 1
    assert after == (before - {keys[45], keys[31]}) | new
    listing = run(f"{TOOL} list uploads").stdout
    assert ".manifest.json" not in listing and "INCOMPLETE" not in listing
