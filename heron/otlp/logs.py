"""Log records into heron's log lines.

* **Level:** the severity number, OpenTelemetry's 1–24, maps to Python's levels: TRACE is
  5, DEBUG 10, INFO 20, WARN 30, ERROR 40 and FATAL 50.
* **Fields:** the logger is the instrumentation scope's name. The file, line and thread
  come from the ``code.*`` and ``thread.*`` attributes, the traceback from
  ``exception.stacktrace``. Every other attribute is kept in ``extra``.
* **Links:** a record written inside a span is linked to that span's request and run
  alike, by the key ``<trace id>.<span id>`` (:func:`heron.otlp.traces.run_key`). A span
  is exported when it ends, after the lines written inside it, so which of the two it is
  is not known yet. The Logs page sends such a link to whichever the span turned out to
  be.
* **Ids:** a digest of the record (service, time, severity, body, attributes, span), so a
  retried export stores each line once.
"""

from __future__ import annotations

import json
from typing import Any

from heron.otlp.traces import run_key
from heron.otlp.values import any_value, attributes, content_id, seconds, service_of

_MOVED = ("code.filepath", "code.file.path", "code.lineno", "code.line.number",
          "thread.name", "thread.id", "exception.stacktrace")


def level_of(severity_number: int) -> int:
    """OpenTelemetry's severity (1–24; 0 unset) as a Python logging level."""
    if severity_number <= 0:
        return 20
    return (5, 10, 20, 30, 40, 50)[min(5, (severity_number - 1) // 4)]


def records_of_logs(message: Any) -> tuple[list[tuple[int, dict[str, Any], str | None]],
                                           list[str]]:
    """The log lines of an ``ExportLogsServiceRequest``: ``(record index, event, span
    key)`` triples (the key of the span each was written in, or None) and what was wrong
    with the records that made none."""
    out: list[tuple[int, dict[str, Any], str | None]] = []
    problems: list[str] = []
    index = -1
    for resource_logs in message.resource_logs:
        app, _, _ = service_of(resource_logs.resource)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope.name[:500]
            for record in scope_logs.log_records:
                index += 1
                nanos = record.time_unix_nano or record.observed_time_unix_nano
                if not nanos:
                    problems.append(f"log record {index} has no time")
                    continue
                attrs = attributes(record.attributes)
                body = any_value(record.body)
                message_text = body if isinstance(body, str) else \
                    "" if body is None else json.dumps(body, sort_keys=True)
                key = run_key(record.trace_id, record.span_id) \
                    if any(record.trace_id) and any(record.span_id) else None
                lineno = attrs.get("code.lineno", attrs.get("code.line.number"))
                thread = attrs.get("thread.name", attrs.get("thread.id"))
                path = attrs.get("code.filepath", attrs.get("code.file.path"))
                stack = attrs.get("exception.stacktrace")
                out.append((index, {
                    "kind": "log",
                    "id": content_id("lg:", app, record.time_unix_nano,
                                     record.observed_time_unix_nano,
                                     record.severity_number, message_text,
                                     json.dumps(attrs, sort_keys=True, default=str), key),
                    "app": app, "ts": seconds(nanos),
                    "level": level_of(record.severity_number), "logger": scope,
                    "message": message_text,
                    "pathname": None if path is None else str(path),
                    "lineno": lineno if isinstance(lineno, int) and lineno >= 0 else None,
                    "thread": None if thread is None else str(thread)[:500],
                    "exc_text": None if stack is None else str(stack),
                    "extra": {k: v for k, v in attrs.items() if k not in _MOVED},
                }, key))
    return out, problems
