"""Report which Unattended-Upgrade::Origins-Pattern entries match an apt source.

Uses unattended-upgrade's own configuration reader and matcher (loaded from
/usr/bin/unattended-upgrade), so the answer is exactly what unattended-upgrade
would decide. Prints JSON: {"patterns": {pattern: [matching release files]}}.
"""

import importlib.machinery
import importlib.util
import json
import sys

import apt_pkg

loader = importlib.machinery.SourceFileLoader("unattended_upgrade", "/usr/bin/unattended-upgrade")
spec = importlib.util.spec_from_loader(loader.name, loader)
uu = importlib.util.module_from_spec(spec)
loader.exec_module(uu)

apt_pkg.init()
cache = apt_pkg.Cache(progress=None)
files = [f for f in cache.file_list if f.archive != "now"]
result = {}
for pattern in uu.get_allowed_origins():
    result[pattern] = sorted(
        {
            f"o={f.origin},a={f.archive},n={f.codename},l={f.label},site={f.site}"
            for f in files
            if uu.match_whitelist_string(pattern, f)
        }
    )
json.dump({"patterns": result}, sys.stdout)
