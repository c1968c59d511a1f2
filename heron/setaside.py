"""Events set aside: one bad event never blocks the others.

An event can be unwritable for its values alone: a lone surrogate (``os.listdir`` on a
name that is not UTF-8 makes one), an integer past 64 bits, JSON nested deeper than any
encoder goes. Retrying it can never succeed, and retrying its batch would hold every later
event behind it. So a batch that fails for its values is split (:func:`isolate`):

* each half is written in turn; a half that fails is split again, until the failing event
  is alone;
* an event alone that fails is repaired when the repair keeps its meaning (lone
  surrogates and NUL characters become U+FFFD; counted as ``repaired``), else set aside:
  one line with the reason in the dead-letter file
  ``<spool folder>/rejected/<day>-<pid>.jsonl`` (:class:`DeadLetters`), counted as
  ``rejected`` and warned about once per cause;
* an error that is not about values (the database is down or locked) never sets an event
  aside: what was not written is kept and retried.

The same rule serves the recorder (every sink), the writer process and the server's
ingest, so a poison event costs the same wherever it arrives.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from heron._internal import RateLimitedWarning

# lone surrogates (no UTF-8 for them) and NUL (PostgreSQL's text cannot hold it)
_SURROGATE = re.compile("[\ud800-\udfff\x00]")
_DATA_ERRORS = (OverflowError, UnicodeError, RecursionError, ValueError, TypeError,
                msgspec.EncodeError, msgspec.ValidationError)


def is_data_error(exc: BaseException | None) -> bool:
    """Whether ``exc`` is about a value the sink cannot take (retrying cannot help), not
    about the sink (a database that is down or locked)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, _DATA_ERRORS):
            return True
        names = {c.__name__ for c in type(exc).__mro__}
        if names & {"DataError", "IntegrityError"}:
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__
        seen += 1
    return False


def reason_of(exc: BaseException) -> str:
    """One line naming the cause (the innermost error: a driver's, not its wrapper's)."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else ""
    return f"{type(inner).__name__}: {text}"[:500]


def fix_strings(value: Any, depth: int = 0) -> tuple[Any, int]:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD;
    returns it and how many were replaced. Containers are copied only when changed."""
    if isinstance(value, str):
        fixed, count = _SURROGATE.subn("\ufffd", value)
        return fixed, count
    if depth > 1000:
        return value, 0
    if isinstance(value, dict):
        total = 0
        out = {}
        for key, item in value.items():
            new_key, a = fix_strings(key, depth + 1)
            new_item, b = fix_strings(item, depth + 1)
            out[new_key] = new_item
            total += a + b
        return (out, total) if total else (value, 0)
    if isinstance(value, (list, tuple)):
        items = [fix_strings(item, depth + 1) for item in value]
        total = sum(count for _, count in items)
        if not total:
            return value, 0
        fixed_items = [item for item, _ in items]
        return (fixed_items if isinstance(value, list) else tuple(fixed_items)), total
    return value, 0


def repair(item: Any) -> Any | None:
    """``item`` (an event, or a ``put()`` tuple) with its lone surrogates replaced, or
    None when it has none (nothing a repair could change)."""
    if isinstance(item, msgspec.Struct):
        changes = {}
        for name in item.__struct_fields__:
            fixed, count = fix_strings(getattr(item, name))
            if count:
                changes[name] = fixed
        return msgspec.structs.replace(item, **changes) if changes else None
    fixed, count = fix_strings(item)
    return fixed if count else None


def _describe(item: Any) -> Any:
    """A JSON-able form of ``item`` for the dead-letter file: never fails."""
    try:
        data = msgspec.to_builtins(item) if isinstance(item, msgspec.Struct) else item
        text = json.dumps(data, default=repr)  # \\udcff escapes, big integers as digits
        return json.loads(text)
    except (RecursionError, ValueError, TypeError, OverflowError):
        return {"repr": repr(item)[:100_000]}


@dataclass
class DeadLetters:
    """The dead-letter file of this process: events set aside, one JSON line each.

    :param folder: the spool folder (``SPOOL_DIR``, else the user cache's ``heron/spool``);
        lines go to its ``rejected/`` folder.
    """

    folder: Path | None = None
    rejected: int = 0
    repaired: int = 0
    by_cause: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _warnings: dict[str, RateLimitedWarning] = field(default_factory=dict, repr=False)

    def path(self) -> Path:
        if self.folder is None:
            from heron.sinks.spool import default_spool_dir

            self.folder = default_spool_dir()
        day = time.strftime("%Y-%m-%d", time.gmtime())
        return Path(self.folder) / "rejected" / f"{day}-{os.getpid()}.jsonl"

    def set_aside(self, item: Any, reason: str) -> None:
        """Keep ``item`` in the dead-letter file with ``reason``; count it; warn once per
        cause (the cause is the reason's first words, before any value)."""
        cause = reason.split(":", 1)[0]
        line = json.dumps({"ts": time.time(), "reason": reason, "event": _describe(item)})
        with self._lock:
            self.rejected += 1
            self.by_cause[cause] = self.by_cause.get(cause, 0) + 1
            warning = self._warnings.setdefault(cause, RateLimitedWarning(3600.0))
            path = self.path()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
                where = str(path)
            except OSError as exc:
                where = f"nowhere ({exc})"
        warning.warn("heron set aside an event it cannot store (%s); kept in %s; "
                     "%d set aside so far", reason, where, self.rejected)

    def note_repaired(self, count: int = 1) -> None:
        with self._lock:
            self.repaired += count


@dataclass
class Isolated:
    """What :func:`isolate` did with a batch."""

    written: int = 0
    repaired: int = 0
    set_aside: list[tuple[int, str]] = field(default_factory=list)  # (index, reason)
    left: list[Any] = field(default_factory=list)  # to retry: the sink itself failed


def isolate(write: Callable[[list[Any]], Any], batch: Sequence[Any], error: BaseException,
            *, fix: Callable[[Any], Any | None] | None = repair) -> Isolated:
    """Write ``batch`` (which ``write`` refused with ``error``) around its bad events.

    Halves are tried in turn; an event that fails alone for its values is repaired (when
    ``fix`` can) or reported in ``set_aside`` with its index; when a part fails for a
    reason that is not about values, that part is kept in ``left`` for a later retry."""
    done = Isolated()

    def attempt(part: list[tuple[int, Any]]) -> BaseException | None:
        try:
            write([item for _, item in part])
        except Exception as exc:  # noqa: BLE001 - classified by the caller's rule
            return exc
        done.written += len(part)
        return None

    def split(part: list[tuple[int, Any]], exc: BaseException) -> None:
        if not is_data_error(exc):
            done.left.extend(item for _, item in part)  # the sink is failing, not a value
            return
        if len(part) == 1:
            index, item = part[0]
            fixed = fix(item) if fix is not None else None
            if fixed is not None:
                again = attempt([(index, fixed)])
                if again is None:
                    done.repaired += 1
                    return
                exc = again
                if not is_data_error(again):
                    done.left.append(fixed)
                    return
            done.set_aside.append((index, reason_of(exc)))
            return
        half = len(part) // 2
        for piece in (part[:half], part[half:]):
            failed = attempt(piece)
            if failed is not None:
                split(piece, failed)

    split(list(enumerate(batch)), error)
    return done
