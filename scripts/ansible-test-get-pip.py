"""Offline stand-in for ansible-test's pip bootstrap script.

ansible-test creates an empty virtual environment per sanity test and fills it
by running a `get-pip.py` it downloads from ci-files.testing.ansible.com, which
this project's machines cannot reach. It runs the script with pip's install
options and the packages to install (plus get-pip's own --no-setuptools /
--no-wheel switches). This does the same from what Python already carries:
ensurepip's bundled pip, then pip itself installs the requested versions from
the package index the machine is configured with.
"""

import ensurepip
import os
import runpy
import sys

GET_PIP_ONLY_FLAGS = {"--no-setuptools", "--no-wheel"}

# ensurepip points PIP_CONFIG_FILE at /dev/null for its own run; the install
# below must see the machine's pip configuration (index, CA bundle) again.
saved_environment = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
os.environ.clear()
os.environ.update(saved_environment)
sys.argv = ["pip", "install", *[arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
