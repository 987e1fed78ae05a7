"""seaworthy.digitalocean.checks: every failing check reported at once, messages rendered only for
failing checks, bad check lists named (real ansible-playbook runs on localhost, no host)."""

from __future__ import annotations

import pytest

from tests.support.playbooks import run_tasks

VALUES = {"port": 0, "user": "root", "keys": ["ssh-ed25519 AAA one", "/home/me/.ssh/id", "ssh-rsa AAA two", "x"]}


def checks_task(name: str, checks, **extra) -> dict:
    return {"name": name, "seaworthy.digitalocean.checks": {"checks": checks}, "vars": VALUES, **extra}


def test_passing_and_inapplicable_checks_pass_without_rendering_any_message(tmp_path):
    run = run_tasks(
        [
            checks_task(
                "checks",
                [
                    {"that": "user is string", "msg": "{{ undefined_in_a_passing_message }}"},
                    {"when": "port | int > 0", "that": "undefined_condition", "msg": "{{ undefined_too }}"},
                    {"when": [True, "user == 'root'"], "that": ["port | int == 0", "keys | length == 4"], "msg": "m"},
                ],
            )
        ],
        {},
        tmp_path,
    )
    assert run.rc == 0, run.output
    result = run.result("checks")
    assert result["changed"] is False
    assert result["msg"] == "2 checks passed, 1 did not apply"


def test_every_failing_check_is_reported_with_its_own_message(tmp_path):
    run = run_tasks(
        [
            checks_task(
                "checks",
                [
                    {"that": "port | int >= 1", "msg": "port must be 1 to 65535, got {{ port }}."},
                    {"that": "user is string", "msg": "passes"},
                    {"that": ["user is match('^[a-z]')", "user != 'root'"], "msg": "user '{{ user }}' is root."},
                    {
                        "that": "keys | reject('match', '^ssh-') | list == []",
                        "msg": "{% for k in keys %}{% if k is not match('^ssh-') %}keys[{{ loop.index0 }}] "
                        "{% endif %}{% endfor %}are not public keys.",
                    },
                ],
            )
        ],
        {},
        tmp_path,
    )
    assert run.rc != 0
    result = run.result("checks")
    assert result["failed"] is True
    assert [f["check"] for f in result["failures"]] == [0, 2, 3]
    assert [f["assertion"] for f in result["failures"]] == [
        "port | int >= 1",
        "user != 'root'",
        "keys | reject('match', '^ssh-') | list == []",
    ]
    assert result["msg"].splitlines() == [
        "3 checks failed:",
        "- port must be 1 to 65535, got 0.",
        "- user 'root' is root.",
        "- keys[1] keys[3] are not public keys.",
    ]


def test_one_failure_is_its_message_alone_and_checks_may_come_from_a_variable(tmp_path):
    listed = [{"that": "port | int >= 1", "msg": "port is {{ port }}"}]
    run = run_tasks(
        [
            {
                "name": "checks",
                "seaworthy.digitalocean.checks": {"checks": "{{ listed }}"},
                "vars": {**VALUES, "listed": listed},
            }
        ],
        {},
        tmp_path,
    )
    assert run.rc != 0
    assert run.result("checks")["msg"] == "port is 0"


def test_a_check_that_cannot_be_evaluated_fails_naming_why(tmp_path):
    run = run_tasks(
        [checks_task("checks", [{"that": "missing_variable > 1", "msg": "missing_variable must be over 1."}])],
        {},
        tmp_path,
    )
    assert run.rc != 0
    msg = run.result("checks")["msg"]
    assert msg.startswith("missing_variable must be over 1. (the check could not be evaluated:")
    assert "'missing_variable' is undefined" in msg


@pytest.mark.parametrize(
    ("checks", "named"),
    [
        ([], "give 'checks', a non-empty list"),
        (["port > 1"], "checks[0]: each check is a mapping with 'that' and 'msg', got a string"),
        ([{"that": "true", "msg": "m"}, {"that": "true"}], "checks[1]: each check has 'that', 'msg'"),
        ([{"that": "true", "msg": "m", "fail_msg": "x"}], "unknown: ['fail_msg']"),
    ],
    ids=["empty", "not-a-mapping", "no-msg", "unknown-key"],
)
def test_a_malformed_check_list_is_named(tmp_path, checks, named):
    run = run_tasks([checks_task("checks", checks)], {}, tmp_path)
    assert run.rc != 0
    assert named in run.result("checks")["msg"]


def test_check_mode_evaluates_the_same(tmp_path):
    run = run_tasks(
        [checks_task("checks", [{"that": "port | int >= 1", "msg": "port is {{ port }}"}])], {}, tmp_path, check=True
    )
    assert run.rc != 0
    assert run.result("checks")["msg"] == "port is 0"
