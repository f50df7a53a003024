"""
Peer addresses as responder shows and compares them.
"""

import ipaddress

from twisted.internet.address import IPv4Address, IPv6Address, UNIXAddress
from twisted.internet.interfaces import IAddress


def describeAddress(address: IAddress) -> str:
    """
    Show an address the way operators write it: C{127.0.0.1:1984},
    C{[::1]:1984}, C{unix:/run/responder.sock}.
    """
    if isinstance(address, IPv4Address):
        return f"{address.host}:{address.port}"
    if isinstance(address, IPv6Address):
        host = ipaddress.ip_address(address.host)
        # An IPv4 client of a tcp6: port arrives as ::ffff:a.b.c.d: show the
        # address it has.  The PROXY protocol hands over IPv6 addresses
        # written out in full: show every address in its usual form.
        if isinstance(host, ipaddress.IPv6Address) and host.ipv4_mapped:
            return f"{host.ipv4_mapped}:{address.port}"
        return f"[{host.compressed}]:{address.port}"
    if isinstance(address, UNIXAddress):
        name = address.name
        if not name:
            return "unix:(unnamed)"
        return "unix:" + name.decode("utf-8", "backslashreplace")
    return str(address)


def hostOf(address: IAddress) -> str | None:
    """
    The IP address part of C{address}, which limits and access rules are
    keyed on, or C{None} for addresses that have none (unix sockets).
    """
    if isinstance(address, (IPv4Address, IPv6Address)):
        return address.host
    return None
