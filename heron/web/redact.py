"""What an outlier keeps of a request, with secrets removed before anything is stored."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"
ALWAYS = ("authorization", "proxy-authorization", "cookie", "set-cookie")
PATTERNS = ("password", "passwd", "secret", "token", "key", "session", "csrf", "auth")
MAX_VALUE = 2_000  # characters kept of one value


class Redactor:
    """Decides which names are secret: the fixed list, the patterns, and REDACT's own."""

    def __init__(self, extra: Iterable[str] = ()):
        words = [re.escape(w.lower()) for w in (*PATTERNS, *extra) if w]
        self._pattern = re.compile("|".join(words))

    def secret(self, name: str) -> bool:
        lowered = name.lower().replace("_", "-")
        if lowered.startswith("http-"):
            lowered = lowered[5:]
        return lowered in ALWAYS or bool(self._pattern.search(name.lower()))

    def mapping(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A copy with secret names' values replaced, nested dicts and lists included."""
        return {str(k): REDACTED if self.secret(str(k)) else self.value(v)
                for k, v in values.items()}

    def value(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            return self.mapping(value)
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, str | int | float | bool) or value is None:
            return value[:MAX_VALUE] if isinstance(value, str) else value
        return str(value)[:MAX_VALUE]

    def headers(self, environ: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for key, value in environ.items():
            if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                name = key[5:] if key.startswith("HTTP_") else key
                name = name.replace("_", "-").title()
                out[name] = REDACTED if self.secret(name) else str(value)[:MAX_VALUE]
        return out

    def environ(self, environ: Mapping[str, Any]) -> dict[str, str]:
        """The WSGI environ's plain string entries that are not headers (those are above),
        with the query string's secret parameters redacted."""
        out = {}
        for key, value in environ.items():
            if key.startswith(("HTTP_", "wsgi.", "werkzeug.", "gunicorn.", "heron.")):
                continue
            if not isinstance(value, str):
                continue
            out[key] = REDACTED if self.secret(key) else value[:MAX_VALUE]
        if out.get("QUERY_STRING"):
            out["QUERY_STRING"] = self.query(out["QUERY_STRING"])
        if out.get("REQUEST_URI") or out.get("RAW_URI"):
            for name in ("REQUEST_URI", "RAW_URI"):
                if name in out and "?" in out[name]:
                    path, query = out[name].split("?", 1)
                    out[name] = path + "?" + self.query(query)
        return out

    def query(self, query: str) -> str:
        from urllib.parse import parse_qsl, urlencode

        pairs = parse_qsl(query, keep_blank_values=True)
        return urlencode([(k, REDACTED if self.secret(k) else v) for k, v in pairs])
