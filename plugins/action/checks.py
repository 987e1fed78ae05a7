# Copyright: Seaworthy contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evaluate a list of checks on the controller and report every failing one at once.

The roles' preflights check their input with many conditions, each with its own
message. One ansible.builtin.assert task per condition stops at the first bad
value and costs a task each time the role runs (about 30 ms on the controller, 50
of them in a no-change site.yml); assert with several `that` has one message for
all. This action evaluates the whole list in one task, renders the message of a
failing check only (so a message may read values that only exist when its check
fails), and fails listing every problem, so an operator fixes them in one go.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

CHECK_KEYS = frozenset(("that", "msg", "when"))


def _conditions(value: t.Any) -> list:
    return value if isinstance(value, list) else [value]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    @classmethod
    def finalize_task_arg(cls, name, value, templar, context):
        """Leave `checks` unrendered (ansible-core 2.19's hook for actions that template their own
        arguments, as assert does for `that`): run() evaluates each condition and renders only the
        messages of failing checks. A `checks` given as one template (a list in a variable) is
        resolved to that list, its items still unrendered."""
        if name != "checks":
            return super().finalize_task_arg(name, value, templar, context)
        return templar.resolve_to_container(value)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp

        checks = self._task.args.get("checks")
        unknown = sorted(set(self._task.args) - {"checks"})
        if unknown or not isinstance(checks, list) or not checks:
            result.update(failed=True, msg=f"checks: give 'checks', a non-empty list (unknown options: {unknown})")
            return result

        failures, skipped = [], 0
        for index, check in enumerate(checks):
            problem = self._malformed(check)
            if problem:
                failures.append({"check": index, "msg": f"checks[{index}]: {problem}"})
                continue
            try:
                if not all(self._templar.evaluate_conditional(c) for c in _conditions(check.get("when", True))):
                    skipped += 1
                    continue
                failed = next(
                    (c for c in _conditions(check["that"]) if not self._templar.evaluate_conditional(c)), None
                )
            except AnsibleError as error:
                failures.append(
                    {
                        "check": index,
                        "msg": f"{self._message(check)} (the check could not be evaluated: {error.message})",
                    }
                )
                continue
            if failed is not None:
                failures.append({"check": index, "msg": self._message(check), "assertion": to_text(failed)})

        result["changed"] = False
        if failures:
            result["failed"] = True
            result["failures"] = failures
            messages = [f["msg"] for f in failures]
            result["msg"] = (
                messages[0]
                if len(messages) == 1
                else f"{len(messages)} checks failed:\n" + "\n".join(f"- {m}" for m in messages)
            )
        else:
            result["msg"] = f"{len(checks) - skipped} checks passed, {skipped} did not apply"
        return result

    @staticmethod
    def _malformed(check: t.Any) -> str:
        if not isinstance(check, dict):
            kind = "a string" if isinstance(check, str) else "a list" if isinstance(check, list) else repr(check)
            return f"each check is a mapping with 'that' and 'msg', got {kind}"
        missing = sorted({"that", "msg"} - set(check))
        unknown = sorted(set(check) - CHECK_KEYS)
        if missing or unknown:
            return f"each check has 'that', 'msg' and optionally 'when' (missing: {missing}, unknown: {unknown})"
        return ""

    def _message(self, check: dict) -> str:
        """The check's message, rendered now that it is needed; the raw text if it cannot be."""
        try:
            return to_text(self._templar.template(check["msg"])).strip()
        except AnsibleError as error:
            return f"{to_text(check['msg']).strip()} (the message could not be rendered: {error.message})"
