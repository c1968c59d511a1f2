"""OTLP request bodies into ``opentelemetry-proto`` messages, and responses back.

OTLP/HTTP carries protobuf (``application/x-protobuf``) or JSON (``application/json``).
OTLP/JSON is protobuf's JSON mapping with one difference: trace and span ids are hex, not
base64. They are turned into base64 before protobuf's own parser reads the rest.
"""

from __future__ import annotations

import base64
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from heron.events import MAX_DEPTH, too_deep

M = TypeVar("M", bound=Message)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
#: The fields OTLP/JSON writes as hex (protobuf's own JSON would use base64).
_HEX_FIELDS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id",
                         "parent_span_id"})


class OtlpError(ValueError):
    """The body is not an OTLP request of the kind the path takes (a 400)."""


class UnsupportedType(OtlpError):
    """The body is neither protobuf nor JSON (a 415)."""


def media_type(content_type: str | None) -> str:
    """``PROTOBUF`` or ``JSON`` for a Content-Type header; UnsupportedType otherwise."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in (PROTOBUF, "application/protobuf"):
        return PROTOBUF
    if kind == JSON:
        return JSON
    raise UnsupportedType(f"Content-Type {content_type!r} is not OTLP: send "
                          f"{PROTOBUF} or {JSON}")


def decode(body: bytes, content_type: str | None, message: type[M]) -> M:
    """The ``message`` (e.g. ``ExportTraceServiceRequest``) in ``body``."""
    kind = media_type(content_type)
    out = message()
    if kind == PROTOBUF:
        try:
            out.ParseFromString(body)
        except (DecodeError, RecursionError) as exc:
            raise OtlpError(f"body is not a protobuf {message.__name__}: {exc}") from None
        return out
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise OtlpError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise OtlpError(f"body must be a JSON object ({message.__name__})")
    if too_deep(data, MAX_DEPTH):
        raise OtlpError(f"body is nested deeper than {MAX_DEPTH} levels")
    try:
        json_format.ParseDict(_hex_ids_to_base64(data), out, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise OtlpError(f"body is not an OTLP/JSON {message.__name__}: {exc}") from None
    return out


def _hex_ids_to_base64(data: Any) -> Any:
    """OTLP/JSON's hex ids as protobuf's JSON mapping wants bytes (base64), in place."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in _HEX_FIELDS and isinstance(value, str):
                    try:
                        item[key] = base64.b64encode(bytes.fromhex(value)).decode()
                    except ValueError:
                        raise OtlpError(f"{key} {value[:80]!r} is not hex") from None
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return data


def encode_response(response: Message, kind: str) -> tuple[bytes, str]:
    """A response message in the request's own encoding, with its content type."""
    if kind == PROTOBUF:
        return response.SerializeToString(), PROTOBUF
    return json.dumps(json_format.MessageToDict(response)).encode(), JSON


def hex_id(raw: bytes) -> str:
    """A trace or span id as OTLP/JSON and every OpenTelemetry tool show it."""
    return raw.hex()
