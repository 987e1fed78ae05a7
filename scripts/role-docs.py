#!/usr/bin/env python
"""Generate (or check) the variables section of every role's README from its argument specs.

    scripts/role-docs.py                 rewrite the section in every roles/*/README.md
    scripts/role-docs.py --check         fail when a README is stale (CI, `make role-docs`)
    scripts/role-docs.py [--check] ROLE  only these roles (names or paths)

The section lives between two markers in README.md:

    <!-- BEGIN role-docs -->
    ...generated from meta/argument_specs.yml...
    <!-- END role-docs -->

--check also fails when defaults/main.yml and the `main` entry point disagree: a
variable in defaults that the specs do not document, or a documented default that
is not the value in defaults/main.yml.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

import yaml

BEGIN = "<!-- BEGIN role-docs -->"
END = "<!-- END role-docs -->"
NOTICE = "<!-- generated from meta/argument_specs.yml by scripts/role-docs.py: edit those, then run it -->"
LONG_DEFAULT = 60  # characters; longer defaults are referred to defaults/main.yml
REPO = Path(__file__).resolve().parent.parent

# Ansible's documentation markup, as in module docs.
MARKUP = [
    (re.compile(r"[CVO]\(([^()]*(?:\([^()]*\)[^()]*)*)\)"), r"`\1`"),
    (re.compile(r"I\(([^)]*)\)"), r"*\1*"),
    (re.compile(r"B\(([^)]*)\)"), r"**\1**"),
    (re.compile(r"U\(([^)]*)\)"), r"<\1>"),
    (re.compile(r"L\(([^,)]*),\s*([^)]*)\)"), r"[\1](\2)"),
]


class RoleDocsError(Exception):
    """A role whose specs, defaults or README cannot be reconciled."""


def markup(text: str) -> str:
    for pattern, replacement in MARKUP:
        text = pattern.sub(replacement, text)
    return text


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def description(spec: dict) -> str:
    value = spec.get("description", "")
    paragraphs = value if isinstance(value, list) else [value]
    return "<br>".join(cell(markup(str(p))) for p in paragraphs if str(p).strip())


def type_of(spec: dict) -> str:
    kind = spec.get("type", "str")
    if kind == "list" and spec.get("elements"):
        kind = f"list of {spec['elements']}"
    if spec.get("choices"):
        kind += "<br>one of: " + ", ".join(f"`{c}`" for c in spec["choices"])
    return kind


def render_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value) if value == "" or value.strip() != value else value
    return json.dumps(value, separators=(", ", ": "))


def default_of(spec: dict) -> str:
    if spec.get("required"):
        return "*required*"
    if "default" not in spec:
        return ""
    shown = render_value(spec["default"])
    if len(shown) > LONG_DEFAULT:
        return "*see `defaults/main.yml`*"
    return f"`{cell(shown)}`"


def rows(options: dict, prefix: str = "") -> list[str]:
    lines = []
    for name, value in options.items():
        spec = value or {}
        notes = " *(secret: not logged)*" if spec.get("no_log") else ""
        lines.append(f"| `{prefix}{name}` | {type_of(spec)} | {default_of(spec)} | {description(spec)}{notes} |")
        if spec.get("options"):
            nested = f"{prefix}{name}[]." if spec.get("type") == "list" else f"{prefix}{name}."
            lines.extend(rows(spec["options"], nested))
    return lines


def render(specs: dict) -> str:
    entry_points = sorted(specs, key=lambda e: (e != "main", e))
    out = [BEGIN, NOTICE, ""]
    for entry in entry_points:
        spec = specs[entry] or {}
        heading = "Variables" if entry == "main" else f"Entry point `{entry}`"
        out.append(f"### {heading}")
        out.append("")
        if entry != "main":
            if spec.get("short_description"):
                out.append(markup(spec["short_description"]) + ".")
                out.append("")
            for paragraph in spec.get("description", []) or []:
                out.append(markup(paragraph))
                out.append("")
        options = spec.get("options") or {}
        if options:
            out.append("| Variable | Type | Default | Description |")
            out.append("|---|---|---|---|")
            out.extend(rows(options))
        else:
            out.append("No variables.")
        out.append("")
    out.append(END)
    return "\n".join(out)


def load_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise RoleDocsError(f"{path} is missing") from None
    except yaml.YAMLError as exc:
        raise RoleDocsError(f"{path} is not valid YAML: {exc}") from None


def consistency_problems(role: Path, specs: dict) -> list[str]:
    defaults_file = role / "defaults" / "main.yml"
    defaults = load_yaml(defaults_file) if defaults_file.exists() else {}
    options = (specs.get("main") or {}).get("options") or {}
    problems = []
    for name, value in defaults.items():
        if name not in options:
            problems.append(f"{name} (defaults/main.yml) is not documented in meta/argument_specs.yml")
        elif "default" in (options[name] or {}) and options[name]["default"] != value:
            problems.append(
                f"{name}: argument_specs says default {render_value(options[name]['default'])}, "
                f"defaults/main.yml says {render_value(value)}"
            )
    for name, spec in options.items():
        if name not in defaults and not (spec or {}).get("required"):
            problems.append(f"{name} is documented but has no value in defaults/main.yml (nor required: true)")
    return problems


def process(role: Path, check: bool) -> list[str]:
    """Rewrite (or check) one role's README; return the problems found."""
    specs = load_yaml(role / "meta" / "argument_specs.yml").get("argument_specs") or {}
    if not specs:
        return [f"{role.name}: meta/argument_specs.yml has no argument_specs"]
    problems = [f"{role.name}: {p}" for p in consistency_problems(role, specs)]
    readme = role / "README.md"
    text = readme.read_text() if readme.exists() else ""
    if BEGIN not in text or END not in text:
        return [*problems, f"{role.name}: README.md lacks the {BEGIN} ... {END} markers"]
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    updated = head + render(specs) + tail
    if updated != text:
        if check:
            diff = difflib.unified_diff(
                text.splitlines(), updated.splitlines(), f"{readme} (current)", f"{readme} (generated)", lineterm=""
            )
            problems.append(f"{role.name}: README.md is stale; run scripts/role-docs.py\n" + "\n".join(list(diff)[:40]))
        else:
            readme.write_text(updated)
            print(f"updated {readme}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail when a README is stale")
    parser.add_argument("--roles-dir", type=Path, default=REPO / "roles", help="where the roles are (default: roles/)")
    parser.add_argument("roles", nargs="*", help="role names or paths (default: every role with argument specs)")
    args = parser.parse_args(argv)
    if args.roles:
        roles = [Path(r) if "/" in r else args.roles_dir / r for r in args.roles]
    else:
        roles = sorted(p.parent.parent for p in args.roles_dir.glob("*/meta/argument_specs.yml"))
    problems = []
    for role in roles:
        try:
            problems.extend(process(role, args.check))
        except RoleDocsError as exc:
            problems.append(f"{role.name}: {exc}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
