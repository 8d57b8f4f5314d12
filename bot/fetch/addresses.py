"""Which IP addresses outbound requests may reach: global unicast, unless allow-listed.

Pure functions. Literals are read the way the system reads them (`0x7f.1`, `2130706433` and
`127.1` all mean 127.0.0.1), and IPv6 forms that carry an IPv4 address inside are judged by
the address they carry.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

# Characters of the numeric IPv4 forms inet_aton understands (dotted, octal, hex, one number).
# Checked first because glibc's inet_aton ignores anything after a space ("127.0.0.1 x").
_IPV4_NUMERIC = re.compile(r"[0-9a-fA-FxX.]+")
_NAT64 = IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
_NAT64_LOCAL = IPv6Network("64:ff9b:1::/48")  # RFC 8215 local-use prefix
_IPV4_COMPATIBLE = IPv6Network("::/96")  # deprecated ::a.b.c.d


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host name stands for when it is an IP literal, else None.

    IPv4 uses inet_aton semantics (what getaddrinfo and the kernel accept), so `0x7f.1`,
    `0177.0.0.1`, `2130706433` and `127.1` are all 127.0.0.1. IPv6 may come in brackets and
    with a zone (`fe80::1%eth0`).
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return IPv6Address(text)
        except ValueError:
            return None
    if not text or not _IPV4_NUMERIC.fullmatch(text):
        return None
    try:
        packed = socket.inet_aton(text)
    except OSError:
        return None
    return IPv4Address(packed)


def embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, compatible)."""
    if (mapped := address.ipv4_mapped) is not None:
        return (mapped,)
    if (sixtofour := address.sixtofour) is not None:
        return (sixtofour,)
    if (teredo := address.teredo) is not None:
        return teredo  # (server, client): both must pass
    if address in _NAT64 or address in _NAT64_LOCAL:
        return (IPv4Address(int(address) & 0xFFFFFFFF),)
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return (IPv4Address(int(address) & 0xFFFFFFFF),)
    return ()


def _kind(address: IPAddress) -> str | None:
    """Why `address` is not global unicast, or None when it is."""
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    # Python still calls fec0::/10 global (RFC 3879 deprecated it), but sites route it inside.
    if isinstance(address, IPv6Address) and address.is_site_local:
        return "site-local"
    if not address.is_global:
        return "private or reserved"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Global unicast only, plus networks opened on purpose (tests, private deployments)."""

    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def allowing(cls, *networks: str) -> AddressPolicy:
        """A policy that also opens `networks` (e.g. "127.0.0.0/8"); bad text raises ValueError."""
        return cls(tuple(ip_network(network, strict=False) for network in networks))

    def _opened(self, address: IPAddress) -> bool:
        return any(
            address.version == network.version and address in network
            for network in self.allowed_networks
        )

    def refusal(self, address: IPAddress) -> str | None:
        """Why connecting to `address` is refused, or None when it is allowed."""
        if isinstance(address, IPv6Address) and address.scope_id:
            address = IPv6Address(address.compressed.split("%", 1)[0])
        if self._opened(address):
            return None
        inner = embedded_ipv4(address) if isinstance(address, IPv6Address) else ()
        if inner:
            for carried in inner:
                if self._opened(carried):
                    continue
                if (why := _kind(carried)) is not None:
                    return f"{address} carries {carried}, which is {why}"
            return None
        if (why := _kind(address)) is not None:
            return f"{address} is {why}"
        return None

    def allows(self, address: IPAddress) -> bool:
        """True when `address` may be connected to."""
        return self.refusal(address) is None

    def first_refusal(self, addresses: Iterable[IPAddress]) -> str | None:
        """The reason the first refused address is refused, or None when all are allowed."""
        for address in addresses:
            if (why := self.refusal(address)) is not None:
                return why
        return None


def as_address(text: str) -> IPAddress:
    """Parse a resolver's answer (plain, canonical notation); raise ValueError otherwise."""
    return ip_address(text.split("%", 1)[0])
