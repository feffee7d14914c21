"""Outbound URLs that users configure (webhooks, chat robots) must not reach inside our cloud.

https only, and every address the host resolves to must be public: loopback, private,
link-local (169.254.169.254 is the instance metadata service), multicast, reserved and
unspecified ranges are refused. An IPv6 address that carries an IPv4 address (mapped,
IPv4-compatible, SIIT-translated, NAT64, 6to4, Teredo) reaches that IPv4 address through a
translator or tunnel, so it is public only if what it carries is too. The check runs after DNS
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


# IPv6 prefixes whose last 32 bits are an IPv4 address: IPv4-compatible (::a.b.c.d, RFC 4291),
# SIIT-translated (::ffff:0:a.b.c.d, RFC 2765) and NAT64's well-known prefix (RFC 6052).
_CARRY_LAST_32 = tuple(
    ipaddress.IPv6Network(n) for n in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)

# NAT64 for local use (RFC 8215): not globally reachable, and where the IPv4 address sits
# depends on a prefix length only that network knows. Older Pythons call it global.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _carried(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to through a translator or a tunnel."""
    out = [ip.sixtofour, *(ip.teredo or ())]
    if any(ip in net for net in _CARRY_LAST_32):
        out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [v4 for v4 in out if v4 is not None]


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is that IPv4 address itself
            return _public(str(ip.ipv4_mapped))
        if ip in _LOCAL_NAT64 or not all(_public(str(v4)) for v4 in _carried(ip)):
            return False
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
