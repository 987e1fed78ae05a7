"""Brute force from the attacker: banned after the allowed failures, let back in after bantime."""

import time
from datetime import datetime

from scenario import DEPLOY_USER

from tests.support.molecule import wait_for

MAXRETRY = 5
BANTIME = 20  # harden_fail2ban_bantime in molecule.yml
GUESS = "guess-123"


def _banned(droplet, address):
    status = droplet.host.run("fail2ban-client status sshd").stdout
    return address in status.split("Banned IP list:")[-1].split()


def _ban_seconds(droplet, address):
    log = droplet.host.file("/var/log/fail2ban.log").content_string.splitlines()
    stamps = {}
    for line in log:
        for event in ("Ban", "Unban"):
            if f"[sshd] {event} {address}" in line:
                stamps[event] = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return (stamps["Unban"] - stamps["Ban"]).total_seconds()


def _guess(attacker, droplet, source):
    # A password guess: the server refuses before even asking (passwords are off).
    result = attacker.ssh(droplet, DEPLOY_USER, command="true", password=GUESS, source=source)
    assert result.rc != 0


def test_jail_reads_the_journal_with_the_configured_limits(droplet):
    host = droplet.host
    status = host.run("fail2ban-client status sshd").stdout
    # Debian 13 logs as sshd-session; under socket activation not as ssh.service.
    assert "_COMM=sshd-session" in status
    assert host.run("fail2ban-client get sshd maxretry").stdout.strip() == str(MAXRETRY)
    assert host.run("fail2ban-client get sshd findtime").stdout.strip() == "600"
    assert host.run("fail2ban-client get sshd bantime").stdout.strip() == str(BANTIME)
    assert host.run("fail2ban-client status recidive").rc == 0


def test_brute_force_is_banned_then_released(droplets, attacker):
    sources = {droplet.name: attacker.fresh_address() for droplet in droplets}
    for droplet in droplets:
        for _attempt in range(MAXRETRY - 1):
            _guess(attacker, droplet, sources[droplet.name])
    time.sleep(3)  # let fail2ban read the journal
    for droplet in droplets:
        # (No TCP probe here: in aggressive mode a connection that never
        # speaks SSH counts as a failure too, as port scanners should.)
        assert not _banned(droplet, sources[droplet.name]), f"{droplet.name}: banned before maxretry"
    for droplet in droplets:
        for _attempt in range(2):  # the 5th and 6th guesses
            _guess(attacker, droplet, sources[droplet.name])
    for droplet in droplets:
        source = sources[droplet.name]
        wait_for(lambda d=droplet, s=source: _banned(d, s), timeout=30, message=f"a ban on {droplet.name}")
        # Banned: new connections to SSH are rejected outright...
        assert attacker.probe(droplet.address, droplet.port, source=source) == "refused"
        # ... for that address only.
        assert attacker.probe(droplet.address, droplet.port) == "open"
    for droplet in droplets:
        source = sources[droplet.name]
        wait_for(
            lambda d=droplet, s=source: not _banned(d, s),
            timeout=BANTIME + 20,
            message=f"the ban on {droplet.name} to expire",
        )
        assert attacker.probe(droplet.address, droplet.port, source=source) == "open"
        # fail2ban's own log: the ban lasted bantime (not shorter, not forever).
        assert BANTIME - 1 <= _ban_seconds(droplet, source) <= BANTIME + 15
    for droplet in droplets:
        result = attacker.ssh(droplet, DEPLOY_USER, source=sources[droplet.name])
        assert result.rc == 0, f"{droplet.name}: the key works again after the ban: {result.stderr}"
