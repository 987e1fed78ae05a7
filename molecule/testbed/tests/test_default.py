"""The local droplet is a booted systemd host with sshd serving key logins."""

import testinfra.utils.ansible_runner

runner = testinfra.utils.ansible_runner.AnsibleRunner(__import__("os").environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = runner.get_hosts("all")


def test_systemd_is_pid_1_and_booted(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state == "running", f"system state is {state}: {host.run('systemctl --failed --no-legend').stdout}"


def test_sshd_is_running_and_listening(host):
    assert host.service("ssh").is_running
    assert host.socket("tcp://0.0.0.0:22").is_listening


def test_root_logs_in_with_the_scenario_key_only(host):
    keys = host.file("/root/.ssh/authorized_keys")
    assert keys.mode == 0o600
    assert keys.content_string.startswith("ssh-ed25519 ")


def test_cloud_init_made_this_droplet_its_own(host):
    # The image ships no host keys; cloud-init generates them on first boot, as on DigitalOcean.
    assert host.run("cloud-init status").stdout.strip() == "status: done"
    assert host.file("/etc/ssh/ssh_host_ed25519_key").exists
    assert not host.user("debian").exists, "no default user: droplets log in as root"
