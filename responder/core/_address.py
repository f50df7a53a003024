"""
Peer addresses as responder shows and compares them.
"""

import ipaddress

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IAddress

from ..escaping import escapeRequest


def describeAddress(address: IAddress) -> str:
    """
    Show an address the way operators write it: C{127.0.0.1:1984},
    C{[::1]:1984}, C{unix:/run/responder.sock}.

    What a client controls is escaped as requests are: the name a unix
    socket client bound to, and whatever a PROXY header claims as the
    client's address.
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        return f"{_describeHost(address.host)}:{address.port}"
    if isinstance(address, UNIXAddress):
        name = address.name
        if not name:
            return "unix:(unnamed)"
        return "unix:" + escapeRequest(name)
    return _escapeClaimed(str(address))


def _describeHost(host: str) -> str:
    if host.isascii() and host.replace(".", "").isdigit():
        return host  # IPv4, as the kernel reports it: the common case, fast
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        # Only a PROXY header can say this is an address.
        return _escapeClaimed(host)
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 client of a tcp6: port arrives as ::ffff:a.b.c.d: show the
        # address it has.  The PROXY protocol hands over IPv6 addresses
        # written out in full: show every address in its usual form.
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        # A scope (fe80::1%eth0) can be any text in a PROXY header.
        return f"[{_escapeClaimed(ip.compressed)}]"
    return str(ip)


def _escapeClaimed(text: str) -> str:
    """
    Escape an address a client claimed exactly as its request would be, so
    that one reading of escapes holds for the whole request line.
    """
    return escapeRequest(text.encode("utf-8", "surrogateescape"))


def hostOf(address: IAddress) -> str | None:
    """
    The IP address part of C{address}, which limits and access rules are
    keyed on, or C{None} for addresses that have none (unix sockets).
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        return address.host
    return None
