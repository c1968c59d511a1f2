"""The writer process behind :class:`heron.sinks.process.ProcessSink`.

``python -m heron.sinks.writer_process DATABASE_URL TABLE_PREFIX MODULES_JSON`` reads
batches from stdin (a 4-byte big-endian length, then ``[id base, items]`` in MessagePack),
stores each in one transaction (an event the database refuses for its values is found by
halving the batch and set aside) and answers one line per batch: ``ok <JSON list of
[index, reason] of the items set aside>`` or ``err <reason>``. It ends when stdin closes.
SIGTERM is ignored: the app that started it decides when it ends, by closing the pipe
after its last flush. It runs at a lower priority (nice 10) than the app.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import signal
import sys
from typing import Any

import msgspec

from heron.events import Event, random_base
from heron.setaside import reason_of

#: Allocations between collections of the youngest generation (Python's default: 700).
GC_THRESHOLD = 10_000


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
    store = open_writer_store(url, prefix)
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
                answer = f"ok {json.dumps(store_batch(store, items, base))}\n"
            except Exception as exc:  # noqa: BLE001 - the app retries; say why
                answer = "err " + repr(exc).replace("\n", " ")[:2000] + "\n"
            stdout.write(answer.encode("utf-8", "replace"))
            stdout.flush()
    finally:
        store.dispose()


def open_writer_store(url: str, prefix: str) -> Any:
    """The store, and this process set up for storing batches: settings that would be
    app-wide in an app's process are heron's to choose here (``bench/writer_cost.py``
    measures a writer set up the same way)."""
    from heron.store import open_store
    from heron.store.engine import bind_none_directly

    bind_none_directly()
    store = open_store(url, prefix)
    # A batch makes thousands of short-lived, acyclic objects (decoded items, rows), freed
    # as soon as it is stored: the collector's passes over them, and over everything
    # start-up made, were 4% of a request's cost here (instructions counted, issue 16).
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD)
    return store


def store_batch(store: Any, items: list[Any], base: int | None) -> list[tuple[int, str]]:
    """Make the events of ``items`` and ingest them in one transaction; an item that
    cannot be made, or that the database refuses for its values, is left out (found by
    halving the batch: :func:`heron.setaside.isolate`). Returns ``(index, reason)`` of
    each item left out. An error of the database itself (down, locked) is raised: the
    app retries the whole batch, and the ledger keeps what was stored."""
    from heron.setaside import is_data_error, isolate

    events, origins, problems = make_events(items, base)
    if not events:
        return problems
    try:
        store.ingest(events)
        return problems
    except Exception as exc:
        if not is_data_error(exc):
            raise
        error = exc
    done = isolate(store.ingest, events, error)
    if done.left:  # the database failed while the batch was being split: retry it all
        raise RuntimeError(f"the database failed while storing a batch: {len(done.left)} "
                           "events not stored")
    for _, reason in done.set_aside:
        print(f"heron: an event was set aside: {reason}"[:500], file=sys.stderr)
    return sorted(problems + [(origins[index], reason) for index, reason in done.set_aside])


def make_events(items: list[Any], base: int | None
                ) -> tuple[list[Event | tuple[Any, ...]], list[int], list[tuple[int, str]]]:
    """The events of a batch as the recorder queued it: ``put()`` tuples made by their
    makers (a request straight into its stored row: :mod:`heron.store.requests`), events
    as they are (decoded ones validated). Ids come from ``base`` and each item's place in
    the batch, so the same batch makes the same ids. Returns the events and rows, the
    index of the item each came from, and ``(index, reason)`` of the items that could not
    be made."""
    from heron.events import AnyEvent, id_at
    from heron.recorder import MAKERS, ROW_MAKERS

    if base is None:
        base = random_base()
    try:  # the usual batch of a web app: nothing but request tuples, made in one pass
        return ([ROW_MAKERS[item[0]](item, base + index) for index, item in enumerate(items)],
                list(range(len(items))), [])
    except Exception:  # noqa: BLE001 - something else in it: item by item, below
        pass
    made: list[Event | tuple[Any, ...]] = []
    origins: list[int] = []
    problems: list[tuple[int, str]] = []
    rows = ROW_MAKERS.get
    for index, item in enumerate(items):
        try:
            if isinstance(item, Event):
                event = item
            elif isinstance(item, (list, tuple)):
                row = rows(item[0])
                if row is not None:
                    made.append(row(item, base + index))
                    origins.append(index)
                    continue
                event = MAKERS[item[0]](tuple(item))
            else:
                event = msgspec.convert(item, AnyEvent)
            if not event.id:
                event.id = id_at(event.ts, base + index)
        except Exception as exc:  # noqa: BLE001 - one bad item must not stop the rest
            problems.append((index, f"cannot be made into an event: {reason_of(exc)}"))
            continue
        made.append(event)
        origins.append(index)
    return made, origins, problems


if __name__ == "__main__":
    sys.exit(main(sys.argv))
