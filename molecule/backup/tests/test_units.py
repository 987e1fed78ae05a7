"""What the role installed: the tool, a root-only configuration, timers as asked."""

import json

from scenario import DROPLET, run


def test_tool_and_configuration():
    tool = DROPLET.file("/usr/local/bin/seaworthy-backup")
    assert tool.mode == 0o755 and tool.user == "root"
    config = DROPLET.file("/etc/seaworthy-backup/config.json")
    assert config.user == "root" and config.mode == 0o600
    assert DROPLET.file("/etc/seaworthy-backup").mode == 0o700
    settings = json.loads(config.content_string)
    assert settings["s3"]["bucket"] == "seaworthy-backups"
    assert sorted(settings["jobs"]) == ["app-db", "shop-db", "uploads"]
    assert DROPLET.package("python3-boto3").is_installed


def test_timers_are_persistent_randomized_and_scheduled():
    for timer, calendar in [
        ("seaworthy-backup@app-db.timer", "*-*-* 02:00:00"),
        ("seaworthy-backup@shop-db.timer", "*-*-* 02:00:00"),
        ("seaworthy-backup@uploads.timer", "*-*-* 03:30:00"),
        ("seaworthy-restore-test@app-db.timer", "Sun *-*-* 04:00:00"),
        ("seaworthy-restore-test@shop-db.timer", "Sun *-*-* 04:00:00"),
    ]:
        service = DROPLET.service(timer)
        assert service.is_enabled and service.is_running, timer
        show = run(f"systemctl show {timer} -p Persistent -p RandomizedDelayUSec -p TimersCalendar").stdout
        assert "Persistent=yes" in show and "RandomizedDelayUSec=15min" in show, show
        assert f"OnCalendar={calendar} ;" in show, show
    # Path jobs are not restore-tested unless asked.
    assert not DROPLET.file("/etc/systemd/system/seaworthy-restore-test@uploads.timer").exists


def test_services_report_failures_and_keep_secrets_off_command_lines():
    unit = run("systemctl cat seaworthy-backup@.service").stdout
    assert "OnFailure=seaworthy-backup-notify@%N.service" in unit
    assert "ProtectSystem=full" in unit
    for line in unit.splitlines():
        if line.startswith("ExecStart="):
            assert "secret" not in line and "password" not in line


def test_bucket_has_the_lifecycle_rule():
    script = (
        "import json, boto3; c = json.load(open('/etc/seaworthy-backup/config.json'))['s3'];"
        "s3 = boto3.client('s3', endpoint_url=c['endpoint'], region_name=c['region'],"
        " aws_access_key_id=c['access_key'], aws_secret_access_key=c['secret_key']);"
        "print(json.dumps(s3.get_bucket_lifecycle_configuration(Bucket=c['bucket'])['Rules']))"
    )
    rules = json.loads(run(f'python3 -c "{script}"').stdout)
    assert [(r["ID"], r["Expiration"]["Days"], r["Filter"]["Prefix"]) for r in rules] == [
        ("seaworthy-backup-droplet-1", 60, "droplet-1/")
    ]
