"""
Endpoint descriptions checked as the user wrote them, without listening
and without touching the global reactor.
"""

import importlib
import os
import re
from typing import Any, cast

from twisted.internet.endpoints import serverFromString

from ..config import endpointType, unwrapProxy

# Endpoint types whose listening socket takes a backlog argument.  systemd:
# sockets arrive already listening; haproxy: passes its arguments on to the
# endpoint it wraps.
_BACKLOG_TYPES = frozenset({"tcp", "tcp6", "ssl", "tls", "unix"})
# A field of an endpoint description (colons inside one are escaped with a
# backslash), and a keyword argument: a field with an unescaped "=".
_FIELD = re.compile(r"(?:\\.|[^:\\])*")
_KEYWORD = re.compile(r"((?:\\.|[^=\\])*)=(.*)", re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


class _NoReactor:
    """
    Stands in for a reactor while a description is parsed: endpoint parsers
    only keep the reactor they are given for when they listen, which a
    check never does.  Checking options thus needs no reactor installed.
    """


_NO_REACTOR = cast(Any, _NoReactor())


def _checkPEMDirectory(text: str, description: str) -> None:
    """
    A server C{tls:} description starts with a directory of PEM files and
    listens on port 443 unless told otherwise, so C{tls:1984} would listen
    on port 443 of every interface with certificates from a folder named
    1984, which Twisted accepts even when there is no such folder.

    @raise ValueError: unless the directory exists.
    """
    positional: list[str] = []
    named: dict[str, str] = {}
    for field in _FIELD.findall(description)[1:]:
        keyword = _KEYWORD.fullmatch(field)
        if keyword is not None:
            named[_ESCAPED.sub(r"\1", keyword[1])] = _ESCAPED.sub(r"\1", keyword[2])
        elif field:
            positional.append(_ESCAPED.sub(r"\1", field))
    path = named.get("path", positional[0] if positional else "")
    if not os.path.isdir(path):
        raise ValueError(
            f"bad endpoint {text!r}: tls: takes a directory of PEM files first"
            f" (tls:DIRECTORY:port=N), and {path!r} is not a directory"
        )


def _checkTLSInstalled(text: str) -> None:
    """
    C{ssl:} and C{tls:} need pyOpenSSL, which only the C{tls} extra
    installs; without it Twisted's own error does not say what to install.

    @raise ValueError: naming the extra, unless pyOpenSSL can be imported.
    """
    try:
        importlib.import_module("OpenSSL")
    except ImportError:
        raise ValueError(
            f"bad endpoint {text!r}: TLS needs pyOpenSSL, which the tls extra"
            " installs: pip install 'txresponder[tls]'"
        ) from None


def loopback(text: str) -> str:
    """
    A bare port number as a TCP endpoint on 127.0.0.1 alone; any other
    description as it is.  For the metrics endpoint, which tells about the
    server and is meant for a scraper on the same machine unless the
    operator says otherwise.
    """
    number = text.strip()
    if number.isdigit() and int(number) <= 65535:
        return f"tcp:{number}:interface=127.0.0.1"
    return text


def parseEndpoint(text: str, backlog: int) -> str:
    """
    Turn a port number or endpoint description into a checked endpoint
    description.

    A bare number means TCP on every IPv4 interface, as in the seed's C
    server.  Endpoint types that take a listen backlog get C{backlog} unless
    the description sets its own.

    @raise ValueError: with a message naming C{text} and what is wrong.
    """
    description = text.strip()
    if description.isdigit():
        if not 0 <= int(description) <= 65535:
            raise ValueError(f"port {description} is out of range (0-65535)")
        description = f"tcp:{description}"
    _, wrapped = unwrapProxy(description)
    kind = endpointType(wrapped)
    if kind in ("ssl", "tls"):
        _checkTLSInstalled(text)
    if kind == "tls":
        _checkPEMDirectory(text, wrapped)
    if kind in _BACKLOG_TYPES and ":backlog=" not in description:
        description += f":backlog={backlog}"
    # serverFromString checks the whole description (types, arguments,
    # certificate files, inherited systemd sockets) without listening.
    try:
        serverFromString(_NO_REACTOR, description)
    except Exception as e:
        reason = str(e) or type(e).__name__
        if kind == "systemd" and isinstance(e, (IndexError, KeyError)):
            # Twisted's own words are "list index out of range".
            reason = (
                "systemd passed no such socket (see LISTEN_FDS and"
                " LISTEN_FDNAMES; name the socket with FileDescriptorName=)"
            )
        raise ValueError(f"bad endpoint {text!r}: {reason}") from None
    return description
