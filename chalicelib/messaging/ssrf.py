"""Outbound URLs that users configure (webhooks, chat robots) must not reach inside our cloud.

https only, and every address the host resolves to must be public: loopback, private,
link-local (169.254.169.254 is the instance metadata service), multicast, reserved and
unspecified ranges are refused, IPv4-mapped IPv6 included. The check runs after DNS
resolution, and the caller connects to the addresses returned here, so a name cannot
resolve to a public address for the check and a private one for the request. Local
development may allow private targets and plain http explicitly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

Resolver = Callable[[str, int], list[str]]


class UnsafeUrl(ValueError):
    """A URL Leadflow will not call, and why."""


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos: list[Any] = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeUrl(f"{host} does not resolve: {exc.strerror}") from exc
    return sorted({info[4][0] for info in infos})


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check(url: str, *, allow_private: bool = False, resolve: Resolver = _resolve) -> Target:
    """The URL's resolved target if Leadflow may call it; UnsafeUrl otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise UnsafeUrl(f"only https URLs may be called, not {parts.scheme or 'no scheme'}")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("credentials in the URL are not allowed; use the webhook secret")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(f"bad port: {exc}") from exc
    addresses = resolve(parts.hostname, port)
    if not addresses:
        raise UnsafeUrl(f"{parts.hostname} does not resolve")
    if not allow_private:
        blocked = [a for a in addresses if not _public(a)]
        if blocked:
            raise UnsafeUrl(
                f"{parts.hostname} resolves to a private, loopback or link-local address "
                f"({', '.join(blocked)})"
            )
    return Target(url, parts.hostname, port, tuple(addresses))
