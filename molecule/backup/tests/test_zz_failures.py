"""Failures are reported once, leave no partial object and never touch older backups.

Last in the run: it stops the database and uses a broken configuration.
"""

import json
import time

from scenario import DROPLET, SCENARIO, TOOL, backups, docker, failures, run

from tests.support.molecule import wait_for

INCOMPLETE_UPLOADS = (
    "import json, boto3; c = json.load(open('/etc/seaworthy-backup/config.json'))['s3'];"
    "s3 = boto3.client('s3', endpoint_url=c['endpoint'], region_name=c['region'],"
    " aws_access_key_id=c['access_key'], aws_secret_access_key=c['secret_key']);"
    "print(len(s3.list_multipart_uploads(Bucket=c['bucket']).get('Uploads', [])))"
)


def test_database_down_alerts_once_and_keeps_older_backups():
    before = backups("app-db")
    assert before, "an earlier test took a backup"
    already = len(failures("app-db"))
    docker("stop", "-t", "3", f"molecule-{SCENARIO}-pg")
    try:
        result = run("systemctl start seaworthy-backup@app-db.service", expect=None)
        assert result.rc != 0
        hooks = wait_for(lambda: failures("app-db")[already:], message="the failure webhook")
        assert hooks[0]["status"] == "failure" and hooks[0]["action"] == "run"
        assert "pg_dump exited" in hooks[0]["message"]
        # The OnFailure= unit ran and saw that the tool had reported this run itself.
        wait_for(
            lambda: (
                run(
                    "systemctl show -p ActiveState --value seaworthy-backup-notify@seaworthy-backup@app-db.service"
                ).stdout.strip()
                in ("inactive", "failed")
            ),
            message="the notifier to finish",
        )
        time.sleep(1)
        assert len(failures("app-db")) == already + 1
        assert backups("app-db") == before
        assert run(f'python3 -c "{INCOMPLETE_UPLOADS}"').stdout.strip() == "0"
        assert DROPLET.file("/var/lib/seaworthy-backup/app-db.reported").content_string.strip() != ""
    finally:
        docker("start", f"molecule-{SCENARIO}-pg")


def test_bad_credentials_alert_and_upload_nothing():
    config = json.loads(DROPLET.file("/etc/seaworthy-backup/config.json").content_string)
    config["s3"]["secret_key"] = "wrong-" + config["s3"]["secret_key"]
    run("install -m 0600 /dev/null /root/bad-config.json")
    run(f"cat > /root/bad-config.json <<'EOF'\n{json.dumps(config)}\nEOF")
    before = backups("shop-db")
    already = len(failures("shop-db"))
    result = run(f"{TOOL} --config /root/bad-config.json run shop-db", expect=1)
    assert "SignatureDoesNotMatch" in result.stderr or "AccessDenied" in result.stderr, result.stderr
    hooks = failures("shop-db")[already:]
    assert len(hooks) == 1 and hooks[0]["status"] == "failure"
    assert backups("shop-db") == before
    run("rm -f /root/bad-config.json")


def test_a_run_the_tool_cannot_report_is_reported_by_the_notifier():
    # No such job: the tool stops at its configuration (exit 2, nothing reported);
    # the OnFailure= unit reports the failed unit instead.
    result = run("systemctl start seaworthy-backup@not-a-job.service", expect=None)
    assert result.rc != 0
    hooks = wait_for(lambda: failures("not-a-job"), message="the notifier's webhook")
    assert len(hooks) == 1 and "seaworthy-backup@not-a-job.service failed" in hooks[0]["message"]
