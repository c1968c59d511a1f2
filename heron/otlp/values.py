"""OTLP's attribute values and resources as Python values, and ids made from content."""

from __future__ import annotations

import hashlib
from typing import Any

from heron.events import MAX_DEPTH

#: Events of one OTLP item carry at most this many attributes (more are counted, not kept).
MAX_ATTRIBUTES = 128


def any_value(value: Any, depth: int = 0) -> Any:
    """An ``AnyValue`` as a JSON value: bytes as hex, arrays and maps nested up to
    MAX_DEPTH (deeper is cut to ``None``)."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which in ("string_value", "bool_value", "double_value"):
        result = getattr(value, which)
        if which == "double_value" and result != result:  # NaN has no JSON form
            return None
        return result
    if which == "int_value":
        return int(value.int_value)
    if which == "bytes_value":
        return value.bytes_value.hex()
    if depth >= MAX_DEPTH - 2:
        return None
    if which == "array_value":
        return [any_value(v, depth + 1) for v in value.array_value.values]
    return {kv.key: any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}


def attributes(pairs: Any) -> dict[str, Any]:
    """``KeyValue`` pairs as a dict (the first MAX_ATTRIBUTES)."""
    out: dict[str, Any] = {}
    for kv in pairs:
        if len(out) >= MAX_ATTRIBUTES:
            break
        value = kv.value
        which = value.WhichOneof("value")  # text and whole numbers first: most attributes
        if which == "string_value":
            out[kv.key[:500]] = value.string_value
        elif which == "int_value":
            out[kv.key[:500]] = value.int_value
        else:
            out[kv.key[:500]] = any_value(value)
    return out


def service_of(resource: Any) -> tuple[str, str | None, dict[str, Any]]:
    """``(service.name, service.version, every resource attribute)``: the app, its
    version, and the rest (kept as dimensions of runs)."""
    attrs = attributes(resource.attributes)
    name = attrs.get("service.name")
    name = str(name)[:200] if name not in (None, "") else "unknown_service"
    version = attrs.get("service.version")
    return name, None if version in (None, "") else str(version)[:500], attrs


def as_dimension(value: Any) -> str | bool | None | list[Any]:
    """An attribute as an export dimension (text, a flag, a list or nothing)."""
    if value is None or isinstance(value, (str, bool, list)):
        return value
    if isinstance(value, dict):
        import json

        return json.dumps(value, sort_keys=True)[:2000]
    return str(value)


def content_id(prefix: str, *parts: Any) -> str:
    """An event id made from what the item is: the same item sent again (a retried
    export) gets the same id, so the store keeps it once. At most 64 characters."""
    digest = hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8", "replace"),
                          usedforsecurity=False).hexdigest()
    return f"{prefix}{digest}"[:64]


def seconds(unix_nano: int) -> float:
    return unix_nano / 1e9
