"""Files heron hands out (CSV and JSON-lines exports): safe names, safe cells.

* A download's file name is made from an app's name, which anyone sending events chooses.
  :func:`content_disposition` keeps the plain ``filename`` to letters, digits, ``.``, ``_``
  and ``-`` and gives the whole name as RFC 6266's ``filename*`` (what Werkzeug's
  ``send_file(download_name=…)`` does), so no quote or line break can add a parameter or
  a header.
* A CSV cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a
  formula to a spreadsheet (``=HYPERLINK(…)`` in a worker id). :func:`csv_cell` prefixes
  such text with ``'`` as OWASP advises ("CSV injection"); numbers stay numbers. JSON
  exports carry values unchanged.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def content_disposition(name: str) -> str:
    """``attachment`` with ``name`` as a plain, safe ``filename`` and as ``filename*``."""
    plain = _UNSAFE_NAME.sub("_", name).strip("._")[:150] or "export"
    full = _CONTROL.sub("", name)[:300] or plain
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(full, safe='')}"


def csv_cell(value: Any) -> Any:
    """One value as a CSV cell: objects and lists as JSON, formula-like text neutralised."""
    if isinstance(value, dict | list):
        value = json.dumps(value, default=str)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
