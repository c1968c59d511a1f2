"""Rewrite the settings table in docs/configuration.md from heron.config.SETTINGS."""

from __future__ import annotations

from pathlib import Path

from heron.config import markdown_table

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"

text = DOCS.read_text()
head, rest = text.split(BEGIN, 1)
_, tail = rest.split(END, 1)
DOCS.write_text(f"{head}{BEGIN}\n{markdown_table()}{END}{tail}")
print(f"updated {DOCS}")
