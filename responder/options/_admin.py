"""
The control API's options: where it listens, and the token it asks for.
An API that can change the answers and read every request is refused at
start when it would be reachable from other machines without a token.
"""

import ipaddress
import re
from pathlib import Path

from ..config import endpointType, unwrapProxy

#: Bytes of a token file that are read at most: a token is a line.
_MAX_TOKEN_FILE = 4096


def _arguments(description: str) -> dict[str, str]:
    """
    The C{key=value} arguments of an endpoint description, unescaped as
    Twisted reads them (a backslash quotes the next character).
    """
    found = {}
    for part in re.split(r"(?<!\\):", description)[1:]:
        key, equals, value = part.partition("=")
        if equals:
            found[key] = re.sub(r"\\(.)", r"\1", value)
    return found


def isLocalEndpoint(description: str) -> bool:
    """
    Whether C{description} (already checked) listens only where this
    machine alone can reach: a unix socket, or TCP bound to a loopback
    address.  Anything else (all interfaces, the default; systemd sockets,
    whose address the description does not say) is not.
    """
    _, inner = unwrapProxy(description)
    kind = endpointType(inner)
    if kind == "unix":
        return True
    if kind not in ("tcp", "tcp6", "ssl"):
        return False
    try:
        address = ipaddress.ip_address(_arguments(inner).get("interface", ""))
    except ValueError:
        return False
    return address.is_loopback


def adminToken(token: str | None, tokenFile: str | None) -> bytes | None:
    """
    The token from C{--admin-token} or C{--admin-token-file} (its first
    line, surrounding blanks removed), or C{None} if neither is given.

    @raise ValueError: if both are given, the file cannot be read, or the
        token is empty or not printable ASCII (it travels in an HTTP header).
    """
    if token is not None and tokenFile is not None:
        raise ValueError("give --admin-token or --admin-token-file, not both")
    if tokenFile is not None:
        try:
            with Path(tokenFile).open("rb") as f:
                text = f.read(_MAX_TOKEN_FILE)
        except OSError as e:
            raise ValueError(f"cannot read {tokenFile}: {e.strerror}") from None
        lines = text.splitlines()
        token = (lines[0] if lines else b"").strip().decode("ascii", "replace")
    if token is None:
        return None
    if not token or not all(" " < c < "\x7f" for c in token):
        raise ValueError("the admin token must be printable ASCII without spaces")
    return token.encode("ascii")


def checkAdmin(description: str, token: bytes | None) -> None:
    """
    Refuse a control API that others could reach without a token.

    @raise ValueError: saying why.
    """
    if token is None and not isLocalEndpoint(description):
        raise ValueError(
            f"{description} is not a loopback or unix endpoint: give"
            " --admin-token or --admin-token-file, or listen on"
            " tcp:PORT:interface=127.0.0.1"
        )
