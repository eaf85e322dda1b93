"""The shell commands a page of the docs shows, reduced to what must match the commands tests run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def shell_block(page: Path, heading: str) -> list[str]:
    """The commands of the first ```sh block under ``heading``: continuations joined, comments cut."""
    text = "\n" + page.read_text(encoding="utf-8")
    section = text.split(f"\n{heading}\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, f"no ```sh block under {heading!r} in {page.name}"
    joined = block.group(1).replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def command_shape(argv: list[str]) -> tuple[str, ...]:
    """The program, its subcommand and its option names: what a placeholder or a path cannot change.

    ``(cd collector && ../.venv/bin/chalice deploy --stage prod)`` and ``[".../bin/chalice",
    "deploy", "--stage", "rehearsal"]`` have the same shape, ``("chalice", "deploy", "--stage")``.
    """
    words = list(argv)
    program = Path(words.pop(0)).name
    if program.startswith("python"):
        program = Path(words.pop(0)).name
    subcommand = (words[0],) if words and not words[0].startswith("-") else ()
    if program.endswith(".py"):
        subcommand = ()
    options = tuple(sorted(word for word in words if word.startswith("--")))
    return (program, *subcommand, *options)


def documented_shapes(
    page: Path, heading: str, skip: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """The shape of every command in the block; a ``cd DIR && CMD`` subshell counts as CMD."""
    shapes = []
    for line in shell_block(page, heading):
        line = line.strip("()")
        last = line.split("&&")[-1]
        shape = command_shape(shlex.split(last))
        if shape[0] not in skip:
            shapes.append(shape)
    return shapes
