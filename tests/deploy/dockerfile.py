"""A small reader of the Dockerfile's final stage: the instructions the tests check and run.

Written here (a few lines) because the Python Dockerfile parsers on PyPI are unmaintained.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, name: str) -> str | None:
        found = [args for ins, args in self.instructions if ins == name]
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for ins, args in self.instructions:
            if ins == "ENV":
                for pair in shlex.split(args):
                    key, _, value = pair.partition("=")
                    values[key] = value
        return values


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        name, _, args = line.partition(" ")
        out.append((name.upper(), args.strip()))
    return out


def stages(path: Path) -> list[Stage]:
    found: list[Stage] = []
    for name, args in instructions(path.read_text()):
        if name == "FROM":
            found.append(Stage(base=args.split()[0]))
        elif found:
            found[-1].instructions.append((name, args))
    return found


def exec_form(args: str) -> list[str]:
    """A JSON-array (exec form) instruction; the shell form is refused, as PID 1 must be ours."""
    parsed = json.loads(args)
    if not (isinstance(parsed, list) and all(isinstance(a, str) for a in parsed)):
        raise ValueError(f"not an exec-form array: {args}")
    return parsed


def healthcheck_command(args: str) -> list[str]:
    """The command of ``HEALTHCHECK [--option=value ...] CMD [...]``."""
    _, sep, command = args.partition("CMD ")
    if not sep:
        raise ValueError(f"HEALTHCHECK without CMD: {args}")
    return exec_form(command)
