"""The backup scenario's tests import scenario.py (its machines and helpers)."""

import os
import sys

# scenario.py and the tests import tests.support.molecule from the project.
sys.path.insert(0, os.environ["MOLECULE_PROJECT_DIRECTORY"])
