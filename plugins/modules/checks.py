#!/usr/bin/python
# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: checks
short_description: Check many conditions in one task and report every one that fails
version_added: 0.1.0
description:
  - Evaluates each check of O(checks) on the controller, like M(ansible.builtin.assert) with one
    message per condition, and fails listing the message of every failing check, so bad input is
    fixed in one go rather than one value per run.
  - A check's message is rendered only when the check fails, so it may read values that exist only
    then. A condition that cannot be evaluated (an undefined variable) fails its check with the
    reason.
  - The roles' preflights use it to check their input before changing anything.
  - This is an action plugin; it runs on the controller and never connects to the host.
options:
  checks:
    description:
      - The checks, evaluated in order. A check fails when one of its O(checks[].that) conditions is
        false.
    type: list
    elements: dict
    required: true
    suboptions:
      that:
        description:
          - A conditional expression (as in C(when)), or a list of them that must all be true.
        type: raw
        required: true
      msg:
        description:
          - What failed, naming the variable and the value that was expected; may be a template.
        type: str
        required: true
      when:
        description:
          - A condition, or a list of them, for the check to apply; a check that does not apply
            passes.
        type: raw
attributes:
  check_mode:
    description: Evaluates the same in check mode; it never changes anything.
    support: full
  diff_mode:
    description: Has no diff to show.
    support: none
  action:
    description: Runs on the controller as an action plugin.
    support: full
author:
  - Seaworthy maintainers (@seaworthy)
"""

EXAMPLES = r"""
- name: Check the input before changing anything
  seaworthy.digitalocean.checks:
    checks:
      - that: app_port | int in range(1, 65536)
        msg: "app_port must be a TCP port, got {{ app_port }}."
      - that:
          - app_user is match('^[a-z_][a-z0-9_-]*$')
          - app_user != 'root'
        msg: "app_user must be a non-root account name, got '{{ app_user }}'."
      - when: app_tls
        that: app_domain | length > 0
        msg: app_tls needs app_domain.
"""

RETURN = r"""
msg:
  description: How many checks passed and did not apply, or the failing checks' messages.
  returned: always
  type: str
  sample: "2 checks failed:\n- app_port must be a TCP port, got 0.\n- app_tls needs app_domain."
failures:
  description: One entry per failing check.
  returned: failed
  type: list
  elements: dict
  contains:
    check:
      description: The check's index in O(checks).
      type: int
    msg:
      description: Its rendered message.
      type: str
    assertion:
      description: The condition that was false.
      type: str
      returned: when a condition was false (not when it could not be evaluated)
"""
