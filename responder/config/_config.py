"""
The one configuration object, and the checks that turn user text into it.

Command-line options (L{responder.tap.Options}) and environment variables
(L{responder.configFromEnvironment}) both end here, so a value is checked the
same way whichever door it came in by.
"""

import os
import re
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network

from twisted.internet.endpoints import serverFromString

from ._reactor import installedReactor

DEFAULT_RESPONSE = b"This is the response"
DEFAULT_PORT = "tcp:1984"

Network = IPv4Network | IPv6Network

# Endpoint types whose listening socket takes a backlog argument.  systemd:
# sockets arrive already listening; haproxy: passes its arguments on to the
# endpoint it wraps.
_BACKLOG_TYPES = frozenset({"tcp", "tcp6", "ssl", "tls", "unix"})
# A field of an endpoint description (colons inside one are escaped with a
# backslash), and a keyword argument: a field with an unescaped "=".
_FIELD = re.compile(r"(?:\\.|[^:\\])*")
_KEYWORD = re.compile(r"((?:\\.|[^=\\])*)=(.*)", re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


@dataclass(frozen=True)
class ResponderConfig:
    """
    Everything that decides how responder behaves.

    @ivar endpoints: endpoint descriptions to listen on, as accepted by
        L{twisted.internet.endpoints.serverFromString}.
    @ivar response: the reply, sent with a NUL byte appended.
    @ivar maxRequest: bytes of a request that are kept; the rest is
        discarded, so a client cannot make the server buffer without bound.
    @ivar timeout: seconds a connection may take to complete its request
        before it is closed (and aborted if it will not close).
    @ivar maxConnections: open connections allowed at once; C{None} for no
        limit.
    @ivar maxPerIP: open connections allowed at once from one address;
        C{None} for no limit.
    @ivar busyResponse: sent (with a NUL) to a connection refused by a limit,
        before it is closed; C{None} closes it without a word.
    @ivar allow: if not empty, only peers in these networks are served.
    @ivar deny: peers in these networks are never served.
    @ivar backlog: listen queue length for endpoints that take one.
    @ivar drainTimeout: seconds a stopping server waits for open
        connections to finish before it aborts them.
    @ivar quiet: do not log requests.
    @ivar keepAlive: keep connections open and answer each delimited
        request on them, instead of answering once and closing.
    @ivar delimiter: the byte that ends a request: the one request of a
        connection is cut there, and in keep-alive mode it separates them.
    @ivar workers: processes serving the same listening sockets.
    @ivar metrics: endpoint description to serve Prometheus metrics on, or
        C{None} for none.
    @ivar rules: path of a rules file (see L{responder._rules}) choosing
        answers and faults by request, or C{None}.
    @ivar logFormat: C{"text"} or C{"json"}, for request lines written
        straight to stdout (and, through the runner, for every log line).
    @ivar requestLog: C{"twisted"} to log each request as a
        C{twisted.logger} event, C{"stdout"} to write request lines straight
        to standard output in twistd's text format, which is much cheaper
        (see L{responder._requestlog}).
    """

    endpoints: tuple[str, ...] = (DEFAULT_PORT,)
    response: bytes = DEFAULT_RESPONSE
    maxRequest: int = 1024
    timeout: float = 30.0
    maxConnections: int | None = None
    maxPerIP: int | None = None
    busyResponse: bytes | None = None
    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()
    backlog: int = 4096
    drainTimeout: float = 10.0
    quiet: bool = False
    requestLog: str = "twisted"
    keepAlive: bool = False
    delimiter: bytes = b"\0"
    workers: int = 1
    metrics: str | None = None
    logFormat: str = "text"
    rules: str | None = None


def positiveInt(text: str) -> int:
    """
    Parse a whole number greater than zero.

    @raise ValueError: with a message naming C{text}.
    """
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{text!r} is not greater than zero")
    return value


positiveInt.coerceDoc = "A whole number greater than zero."  # type: ignore[attr-defined]


def positiveSeconds(text: str) -> float:
    """
    Parse a duration in seconds, greater than zero.

    @raise ValueError: with a message naming C{text}.
    """
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{text!r} is not a finite number of seconds above zero")
    return value


positiveSeconds.coerceDoc = "Seconds, greater than zero."  # type: ignore[attr-defined]


def parseNetwork(text: str) -> Network:
    """
    Parse an IPv4 or IPv6 network in CIDR notation; a bare address is a
    network of one.

    @raise ValueError: with a message naming C{text}.
    """
    try:
        return ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP network such as 10.0.0.0/8") from None


_DELIMITERS = {"nul": b"\0", "newline": b"\n"}


def parseDelimiter(text: str) -> bytes:
    """
    Parse a request delimiter: C{nul}, C{newline}, or one ASCII character.

    @raise ValueError: with a message naming C{text}.
    """
    if text.lower() in _DELIMITERS:
        return _DELIMITERS[text.lower()]
    if len(text) == 1 and text.isascii():
        return text.encode()
    raise ValueError(f"{text!r} is not nul, newline or a single ASCII character")


parseDelimiter.coerceDoc = "nul, newline, or one ASCII character."  # type: ignore[attr-defined]


def unwrapProxy(description: str) -> tuple[str, str]:
    """
    Split an endpoint description into its C{haproxy:} wrappers, as many as
    there are and in any case (Twisted finds plugin endpoint types whatever
    their case), and the description they wrap.
    """
    prefix, rest = "", description
    while rest.partition(":")[0].lower() == "haproxy":
        head, _, rest = rest.partition(":")
        prefix += head + ":"
    return prefix, rest


def endpointType(description: str) -> str:
    """
    The type of an endpoint description, in lower case: C{tcp}, C{unix}...
    """
    return description.partition(":")[0].lower()


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
    if kind == "tls":
        _checkPEMDirectory(text, wrapped)
    if kind in _BACKLOG_TYPES and ":backlog=" not in description:
        description += f":backlog={backlog}"
    # serverFromString checks the whole description (types, arguments,
    # certificate files, inherited systemd sockets) without listening.
    try:
        serverFromString(installedReactor(), description)
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
