"""Unattended upgrades, sudo, journald, time."""

import re

from scenario import DEPLOY_USER


def test_unattended_upgrades_pick_the_security_archive(droplet):
    host = droplet.host
    periodic = host.run("apt-config dump APT::Periodic").stdout
    assert 'APT::Periodic::Unattended-Upgrade "1";' in periodic
    assert 'APT::Periodic::Update-Package-Lists "1";' in periodic
    # The role dry-ran unattended-upgrade after configuring it; its log shows
    # what a real run would do. With nothing to upgrade (the first run upgraded
    # everything) the dry run says so and stops before its "--dry-run" line.
    log = host.file("/var/log/unattended-upgrades/unattended-upgrades.log").content_string
    assert "Allowed origins are: origin=Debian,codename=trixie-security,label=Debian-Security" in log
    assert "Option --dry-run given" in log or "No packages found that can be upgraded unattended" in log
    pending = {
        line.split("/", 1)[0]
        for line in host.run("apt list --upgradable 2>/dev/null").stdout.splitlines()
        if "-security" in line
    }
    if pending:
        planned = re.findall(r"Packages that will be upgraded: (.*)", log)
        assert planned, "security updates are pending but the dry run planned none"
        assert pending <= set(planned[-1].split()), pending - set(planned[-1].split())


def test_the_first_run_upgraded_every_package(droplet):
    # The guides' `apt update && apt upgrade -y`: the droplet image predates updates in
    # trixie-security and trixie-updates; converge upgraded them once and left its marker.
    host = droplet.host
    assert host.file("/var/lib/seaworthy/harden-first-upgrade").is_file
    pending = [line for line in host.run("apt list --upgradable 2>/dev/null").stdout.splitlines() if "/" in line]
    assert not pending, pending


def test_sudo_rights_of_the_deploy_user(droplet):
    sudoers = droplet.host.file("/etc/sudoers.d/seaworthy-deploy-user")
    assert sudoers.mode == 0o440
    line = f"{DEPLOY_USER} ALL=(ALL:ALL) {'' if droplet.password else 'NOPASSWD: '}ALL"
    assert line in sudoers.content_string.splitlines()


def test_journal_is_persistent_and_bounded(droplet):
    config = droplet.host.run("systemd-analyze cat-config systemd/journald.conf").stdout
    assert "Storage=persistent" in config
    assert "SystemMaxUse=500M" in config


def test_timezone_is_utc(droplet):
    assert droplet.host.run("timedatectl show -p Timezone --value").stdout.strip() == "Etc/UTC"
