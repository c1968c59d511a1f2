"""The writer process behind :class:`heron.sinks.process.ProcessSink`.

``python -m heron.sinks.writer_process DATABASE_URL TABLE_PREFIX MODULES_JSON`` reads
batches from stdin (a 4-byte big-endian length, then ``[id base, items]`` in MessagePack),
stores each in one transaction (an event the database refuses for its values is found by
halving the batch and set aside) and answers one line per batch: ``ok <dropped>`` or
``err <reason>``. It ends when stdin closes. SIGTERM is ignored: the app that started it
decides when it ends, by closing the pipe after its last flush. It runs at a lower
priority (nice 10) than the app.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
from typing import Any

import msgspec


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: python -m heron.sinks.writer_process DATABASE_URL TABLE_PREFIX "
              "MODULES_JSON", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:  # the app comes first when both want a core; stored a little later is fine
        os.nice(10)
    except OSError:
        pass
    url, prefix, modules = argv[1], argv[2], json.loads(argv[3])
    for module in modules:  # they register the makers of put() tuples
        importlib.import_module(module)
    from heron.sinks.process import make_events
    from heron.store import open_store

    store = open_store(url, prefix)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    decode = msgspec.msgpack.decode
    try:
        while True:
            head = stdin.read(4)
            if len(head) < 4:
                return 0
            payload = stdin.read(int.from_bytes(head, "big"))
            try:
                base, items = decode(payload)
                events, dropped = make_events(items, base)
                dropped += ingest_setting_aside(store, events)
                answer = f"ok {dropped}\n"
            except Exception as exc:  # noqa: BLE001 - the app retries; say why
                answer = "err " + repr(exc).replace("\n", " ")[:2000] + "\n"
            stdout.write(answer.encode("utf-8", "replace"))
            stdout.flush()
    finally:
        store.dispose()


def ingest_setting_aside(store: Any, events: list[Any]) -> int:
    """Ingest ``events``; when the database refuses one for its values (an integer out of
    range, an odd byte), find it by halving the batch, store the rest and set it aside.
    Returns how many were set aside. Any other error (the database is down or locked)
    is raised: the app retries the whole batch, and the ledger keeps what was stored."""
    try:
        store.ingest(events)
        return 0
    except Exception as exc:
        if not _bad_data(exc):
            raise
        if len(events) == 1:
            print(f"heron: an event was set aside: {exc!r}"[:500], file=sys.stderr)
            return 1
    half = len(events) // 2
    return (ingest_setting_aside(store, events[:half])
            + ingest_setting_aside(store, events[half:]))


def _bad_data(exc: BaseException | None) -> bool:
    """The error is about a value, not about the database being reachable."""
    while exc is not None:
        if isinstance(exc, (OverflowError, ValueError, TypeError, UnicodeError)):
            return True
        if any(c.__name__ in ("DataError", "IntegrityError") for c in type(exc).__mro__):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__
    return False


if __name__ == "__main__":
    sys.exit(main(sys.argv))
