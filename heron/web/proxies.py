"""Reverse proxies heron trusts (config TRUSTED_PROXIES): one home for what a request's
``X-Forwarded-*`` headers may say.

Only a request arriving from a trusted proxy's address is read through its headers: the
client address (first of ``X-Forwarded-For``) for recorded requests and login throttling,
and the scheme (``X-Forwarded-Proto: https``) that makes the dashboard's cookie ``Secure``.
Anyone else could write those headers, so from any other address they are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any


class TrustedProxies:
    def __init__(self, networks: Iterable[str]):
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusted(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_ip(self, environ: Any) -> str | None:
        """The client's address: the proxy's word for it when a trusted proxy sent it."""
        remote = environ.get("REMOTE_ADDR")
        if not self.networks:
            return remote  # type: ignore[no-any-return]
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded and self.trusted(remote):
            return str(forwarded.split(",")[0].strip())[:64] or remote
        return remote  # type: ignore[no-any-return]

    def is_https(self, environ: Any) -> bool:
        """The client reached us over HTTPS: directly, or per a trusted proxy."""
        if environ.get("wsgi.url_scheme") == "https":
            return True
        proto = str(environ.get("HTTP_X_FORWARDED_PROTO", "")).split(",")[0].strip().lower()
        return proto == "https" and self.trusted(environ.get("REMOTE_ADDR"))
