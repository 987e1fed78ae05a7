"""Report which Unattended-Upgrade::Origins-Pattern entries match an apt source.

Uses unattended-upgrade's own configuration reader and matcher (loaded from
/usr/bin/unattended-upgrade), so the answer is exactly what unattended-upgrade
would decide. Prints JSON: {"patterns": {pattern: [matching release files]}}.

Loading apt's package cache and unattended-upgrade takes about half a second,
so the answer is kept in CACHE with a key made of everything it depends on: the
origin settings, the distribution release, the apt sources, unattended-upgrade
itself, and the origin, label, suite, codename and components of every release
file apt has downloaded. A host whose key is unchanged gets the kept answer;
any change, `apt update` bringing a release of another codename included, asks
the matcher again.
"""

import glob
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys

import apt_pkg

UU = "/usr/bin/unattended-upgrade"
CACHE = "/var/cache/seaworthy/unattended-upgrades-origins.json"
SETTINGS = ("Unattended-Upgrade::Origins-Pattern", "Unattended-Upgrade::Allowed-Origins")
WATCHED = ("/etc/os-release", UU, "/etc/apt/sources.list", "/etc/apt/sources.list.d/*")
RELEASES = "/var/lib/apt/lists/*Release"
# What unattended-upgrade matches a pattern against (o=, a=, n=, l=, c=, site=):
# a release file is re-signed and re-dated at every mirror push, these stay.
RELEASE_FIELDS = ("Origin:", "Label:", "Suite:", "Codename:", "Components:")


def cache_key():
    digest = hashlib.sha256(json.dumps([apt_pkg.config.value_list(name) for name in SETTINGS]).encode())
    for pattern in WATCHED:
        for path in sorted(glob.glob(pattern)):
            # An empty file counts as none (apt tools create an empty sources.list).
            if os.path.isfile(path) and os.path.getsize(path) > 0:
                with open(path, "rb") as handle:
                    digest.update(path.encode() + b"\0" + hashlib.sha256(handle.read()).digest())
    for path in sorted(glob.glob(RELEASES)):
        with open(path, encoding="utf-8", errors="replace") as handle:
            fields = sorted(line.strip() for line in handle if line.startswith(RELEASE_FIELDS))
        digest.update(json.dumps([path, fields]).encode())
    return digest.hexdigest()


def match():
    loader = importlib.machinery.SourceFileLoader("unattended_upgrade", UU)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    uu = importlib.util.module_from_spec(spec)
    loader.exec_module(uu)
    cache = apt_pkg.Cache(progress=None)
    files = [f for f in cache.file_list if f.archive != "now"]
    return {
        pattern: sorted(
            {
                f"o={f.origin},a={f.archive},n={f.codename},l={f.label},site={f.site}"
                for f in files
                if uu.match_whitelist_string(pattern, f)
            }
        )
        for pattern in uu.get_allowed_origins()
    }


def main():
    apt_pkg.init()
    key = cache_key()
    try:
        with open(CACHE, encoding="utf-8") as handle:
            kept = json.load(handle)
        if kept.get("key") == key:
            json.dump({"patterns": kept["patterns"], "cached": True}, sys.stdout)
            return
    except (OSError, ValueError, KeyError):
        pass
    patterns = match()
    os.makedirs(os.path.dirname(CACHE), mode=0o755, exist_ok=True)
    tmp = f"{CACHE}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump({"key": key, "patterns": patterns}, handle)
    os.replace(tmp, CACHE)
    json.dump({"patterns": patterns, "cached": False}, sys.stdout)


main()
