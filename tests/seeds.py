"""The code blocks of the documentation heron's users come from (``../shared/seeds/`` from
the project root), as those users copy them: tests change the import prefix and nothing
else, then run them against heron.

The seed pages are plain text (their HTML already flattened), so a code block is found by
its first line (``from mona_client import client``) and runs on while lines read as code:
blank, indented, comments, ``...``, or a statement Python starts a line with.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _seeds_folder() -> Path:
    """``HERON_SEEDS`` if set; else ``shared/seeds`` beside the project root (or beside any
    folder above it: a clone made elsewhere on the machine); else the machines' shared
    folder, ``/work/shared/seeds``."""
    import os

    if os.environ.get("HERON_SEEDS"):
        return Path(os.environ["HERON_SEEDS"])
    for folder in ROOT.parents:
        if (folder / "shared" / "seeds").is_dir():
            return folder / "shared" / "seeds"
    return Path("/work/shared/seeds")


SEEDS = _seeds_folder()

_CODE_START = re.compile(
    r"^(from |import |with |def |class |global |print|return|@|[A-Za-z_][\w.]*\s*(\(|=|\.))")


def seed_text(prefix: str) -> str:
    """The seed page whose file name starts with ``prefix`` (``003``)."""
    found = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    assert found, (f"no seed {prefix}_*.txt in {SEEDS}: the seeds live in ../shared/seeds "
                   "from the project root; set HERON_SEEDS to their folder")
    return found[0].read_text(encoding="utf-8")


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return (not stripped or line[0] in " \t" or stripped.startswith(("#", "..."))
            or bool(_CODE_START.match(line)))


def code_blocks(text: str, first_line: str,
                repair: Callable[[str], str] | None = None) -> list[str]:
    """Every block starting with a line that begins with ``first_line``, each checked to
    be valid Python (after ``repair``, for a page that lost its indentation)."""
    lines = text.splitlines()
    blocks = []
    end = 0
    for start, line in enumerate(lines):
        if start < end or not line.startswith(first_line):
            continue  # (a block's own second import is not a block of its own)
        end = start + 1
        while end < len(lines) and _is_code(lines[end]):
            end += 1
        block = "\n".join(lines[start:end]).rstrip() + "\n"
        if repair is not None:
            block = repair(block)
        ast.parse(block)  # a block cut in the wrong place fails here, not later
        blocks.append(block)
    return blocks


def ported(block: str, old: str, new: str) -> str:
    """``block`` with its imports of ``old`` turned into imports of ``new``: the one line
    a user changes."""
    return re.sub(rf"^(\s*)(from|import) {re.escape(old)}\b", rf"\1\2 {new}", block,
                  flags=re.MULTILINE)


def rst_code_blocks(text: str) -> list[str]:
    """The ``.. code-block:: python`` blocks of a reStructuredText page, dedented."""
    import textwrap

    lines = text.splitlines()
    blocks = []
    for start, line in enumerate(lines):
        if line.strip() != ".. code-block:: python":
            continue
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
            end += 1
        block = textwrap.dedent("\n".join(lines[start + 1:end])).strip() + "\n"
        ast.parse(block)
        blocks.append(block)
    return blocks


def reindented(block: str) -> str:
    """A block whose page lost its indentation (seed 000 is flattened HTML) with Python's
    structure put back and nothing else changed: ``class X(Base`` closed with ``):``, and
    each line under a ``class`` or ``def`` indented one level deeper than it."""
    out: list[str] = []
    depth = 0
    for line in block.splitlines():
        text = line.strip()
        if text.startswith("class ") and not text.endswith(":"):
            text += ")" * (text.count("(") - text.count(")")) + ":"
        if text.startswith(("class ", "from ", "import ")):
            depth = 0
        out.append("    " * depth + text)
        if text.startswith(("class ", "def ")) and text.endswith(":"):
            depth += 1
    result = "\n".join(out) + "\n"
    ast.parse(result)
    return result


def fenced_blocks(text: str) -> list[str]:
    """The ```-fenced blocks of a Markdown page, in order."""
    blocks, inside, current = [], False, []
    for line in text.splitlines():
        if line.strip().startswith("```"):
            if inside:
                blocks.append("\n".join(current).strip("\n") + "\n")
                current = []
            inside = not inside
            continue
        if inside:
            current.append(line)
    return blocks


def json_blocks(text: str) -> list[Any]:
    """The ``.. code-block:: json`` objects of a page (flattened reStructuredText too)."""
    decoder = json.JSONDecoder()
    out = []
    for part in text.split(".. code-block:: json")[1:]:
        start = part.index("{")
        value, _ = decoder.raw_decode(part[start:])
        out.append(value)
    return out
