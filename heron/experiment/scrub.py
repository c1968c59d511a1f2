"""Scrubbing research data: ids that identify people leave heron only when asked for.

A participant's worker, assignment and HIT ids name a person on a crowdsourcing platform
(an MTurk worker id is searchable). Exports of experiment records (the Database view's
CSV and JSON, ``heron export``, ``/api/v1/export``) replace them with a stable salted hash
per app: ``anon-`` and 16 hex digits, the same for the same id within one app and store
(so rows of one worker still group together), unlinkable across apps, and not reversible
without the salt kept in the store. An admin may ask for the raw values (``--no-scrub``,
``scrub=false``); guests only ever see scrubbed ones, in exports and in the Database view.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from heron.store import Store

#: Columns of experiment records that identify a person.
IDENTIFYING = frozenset({"worker_id", "assignment_id", "hit_id", "mturk_worker_id",
                         "mturk_assignment_id", "mturk_hit_id", "unique_id"})
#: The kinds whose rows hold experiment records.
EXPERIMENT_KINDS = frozenset({"participant", "network", "node", "info", "transmission",
                              "vector"})


def salt(store: Store) -> bytes:
    """The store's scrubbing salt: made once, shared by every server on the store."""
    from heron.store.queries.settings import set_default

    return set_default(store, "scrub_salt", secrets.token_hex(32)).encode()


def pseudonym(key: bytes, app: str, value: Any) -> str:
    digest = hmac.new(key, f"{app}\0{value}".encode("utf-8", "replace"), hashlib.sha256)
    return "anon-" + digest.hexdigest()[:16]


def scrub_row(row: dict[str, Any], key: bytes, app: str | None = None) -> dict[str, Any]:
    """``row`` with its identifying values (columns, and keys of ``details``) replaced."""
    app = str(row.get("app") or app or "")
    out = dict(row)
    for name in IDENTIFYING.intersection(out):
        if out[name] not in (None, ""):
            out[name] = pseudonym(key, app, out[name])
    details = out.get("details")
    if isinstance(details, dict) and IDENTIFYING.intersection(details):
        out["details"] = {k: pseudonym(key, app, v) if k in IDENTIFYING and v not in (None, "")
                          else v for k, v in details.items()}
    return out


def scrub_rows(store: Store, kind: str, rows: list[dict[str, Any]],
               app: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``kind`` as an export gives them when scrubbing (any other kind as is)."""
    if kind not in EXPERIMENT_KINDS or not rows:
        return rows
    key = salt(store)
    return [scrub_row(row, key, app) for row in rows]


def wants_raw(value: str | None) -> bool:
    """Whether a ``scrub`` query value asks for raw ids (``false``, ``0``, ``no``, ``off``)."""
    return str(value).strip().lower() in ("false", "0", "no", "off")
