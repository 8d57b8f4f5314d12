"""The address policy: global unicast only, embedded IPv4 judged by what it carries, literals
read the way the system reads them."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.fetch.addresses import AddressPolicy, embedded_ipv4, parse_ip_literal

STRICT = AddressPolicy()


@pytest.mark.parametrize(
    "text",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.1",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "ff0e::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::",  # 6to4 around 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
        "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:db8::1",
        "fec0::1",  # site-local, deprecated by RFC 3879 but routed inside some sites
        "feff:ffff::1",
    ],
)
def test_non_global_addresses_are_refused(text: str) -> None:
    assert STRICT.refusal(ip_address(text)) is not None


@pytest.mark.parametrize(
    "text", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]
)
def test_global_unicast_is_allowed(text: str) -> None:
    assert STRICT.allows(ip_address(text))


def test_multicast_is_refused_although_python_calls_some_of_it_global() -> None:
    why = STRICT.refusal(ip_address("224.0.0.1"))
    assert why is not None and "multicast" in why
    assert not STRICT.allows(ip_address("ff0e::1"))


def test_allow_list_opens_only_what_it_names() -> None:
    loopback = AddressPolicy.allowing("127.0.0.0/8")
    assert loopback.allows(ip_address("127.0.0.1"))
    assert loopback.allows(ip_address("127.9.9.9"))
    assert loopback.allows(ip_address("::ffff:127.0.0.1"))
    assert not loopback.allows(ip_address("::1"))
    assert not loopback.allows(ip_address("169.254.169.254"))
    assert not loopback.allows(ip_address("10.0.0.1"))
    with pytest.raises(ValueError):
        AddressPolicy.allowing("not a network")


def test_refusal_says_what_the_address_is() -> None:
    assert STRICT.refusal(ip_address("::ffff:10.0.0.1")) == (
        "::ffff:a00:1 carries 10.0.0.1, which is private or reserved"
    )
    assert STRICT.refusal(ip_address("127.0.0.1")) == "127.0.0.1 is loopback"


@pytest.mark.parametrize(
    ("text", "meant"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("169.254.43518", "169.254.169.254"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
    ],
)
def test_literals_mean_what_the_system_says(text: str, meant: str) -> None:
    assert parse_ip_literal(text) == ip_address(meant)


@pytest.mark.parametrize(
    "text",
    ["example.com", "127.0.0.1 x", "127.0.0.1.", "1.2.3.4.5", "4294967296", "", "::g", "09.1"],
)
def test_names_and_junk_are_not_literals(text: str) -> None:
    assert parse_ip_literal(text) is None


def _system(text: str) -> IPv4Address | None:
    try:
        infos = socket.getaddrinfo(text, None, socket.AF_INET, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return IPv4Address(infos[0][4][0])


@given(st.text(alphabet="0123456789abcdefxX.", min_size=1, max_size=20))
def test_ipv4_literals_agree_with_getaddrinfo(text: str) -> None:
    assert parse_ip_literal(text) == _system(text)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_every_numeric_spelling_of_an_address_parses_to_it(value: int) -> None:
    address = IPv4Address(value)
    a, b, c, d = address.packed
    for spelling in (str(value), hex(value), f"{a}.{b}.{c}.{d}", f"{a}.{(b << 16) | (c << 8) | d}"):
        assert parse_ip_literal(spelling) == address


def _wrappers(v4: IPv4Address) -> list[IPv6Address]:
    n = int(v4)
    return [
        IPv6Address((0xFFFF << 32) | n),  # IPv4-mapped
        IPv6Address((0x2002 << 112) | (n << 80)),  # 6to4
        IPv6Address((0x64FF9B << 96) | n),  # NAT64
    ]


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_wrapped_ipv4_is_judged_by_what_it_carries(value: int) -> None:
    v4 = IPv4Address(value)
    for wrapped in _wrappers(v4):
        assert embedded_ipv4(wrapped) == (v4,)
        assert STRICT.allows(wrapped) == STRICT.allows(v4), wrapped


@given(st.integers(min_value=0, max_value=2**32 - 1), st.integers(min_value=0, max_value=2**32 - 1))
def test_teredo_needs_both_ends_global(server: int, client: int) -> None:
    teredo = IPv6Address((0x20010000 << 96) | (server << 64) | (client ^ 0xFFFFFFFF))
    expected = STRICT.allows(IPv4Address(server)) and STRICT.allows(IPv4Address(client))
    assert STRICT.allows(teredo) == expected


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_nothing_allowed_is_multicast_loopback_or_private(value: int) -> None:
    address = IPv4Address(value)
    if STRICT.allows(address):
        assert address.is_global
        assert not (address.is_multicast or address.is_loopback or address.is_private)


@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_allowed_ipv6_is_global_unicast(value: int) -> None:
    address = IPv6Address(value)
    if STRICT.allows(address) and not embedded_ipv4(address):
        assert address.is_global and not address.is_multicast
        assert not address.is_site_local


def test_site_local_refusal_names_the_range() -> None:
    assert STRICT.refusal(ip_address("fec0::1")) == "fec0::1 is site-local"


@given(st.integers(min_value=0, max_value=2**24 - 1))
def test_opened_loopback_covers_all_of_it(low: int) -> None:
    address = IPv4Address((127 << 24) | low)
    assert AddressPolicy.allowing("127.0.0.0/8").allows(address)
    assert not STRICT.allows(address)


@given(st.text(max_size=60))
def test_parsing_any_host_text_never_raises(text: str) -> None:
    parsed = parse_ip_literal(text)
    assert parsed is None or isinstance(parsed, IPv4Address | IPv6Address)
