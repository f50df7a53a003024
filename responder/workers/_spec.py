"""
What the parent of C{--workers N} and its workers share: the worker's
L{WorkerSpec} (its number, the configuration, the sockets it inherits),
and the JSON it travels in on the worker's standard input.
"""

import json
from dataclasses import asdict, dataclass, fields
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any, Self

from ..config import ResponderConfig, endpointType, unwrapProxy

#: Endpoint types whose listening socket workers can share, alone or behind
#: C{haproxy:}.  Others (C{stdio:}, plugins' endpoints) have no socket to
#: pass on, or one responder cannot know how to re-create in a worker.
SHAREABLE = frozenset({"tcp", "tcp6", "unix", "ssl", "systemd"})

#: Endpoint types, alone or behind C{haproxy:}, whose workers each get a
#: listening socket of their own under C{--worker-sockets reuseport}: the
#: TCP ones.  A C{unix:} socket is always shared (a path names one
#: socket, and C{SO_REUSEPORT} does not apply to C{AF_UNIX}), as is a
#: C{systemd:} one (systemd passes the parent one socket).
PER_WORKER = frozenset({"tcp", "tcp6", "ssl"})

#: The descriptor a worker finds its first listening socket on, after
#: standard input, output and error; the others follow in order.
FIRST_SOCKET_FD = 3

#: What a worker tells the parent on its standard error, each on a line of
#: its own (a record separator first, which no traceback line starts
#: with): that it is ready (it serves, and a SIGHUP would reload rather
#: than kill it), and then, from its reactor, that it is alive.
READY = b"\x1eready"
ALIVE = b"\x1ealive"


def configToJSON(config: ResponderConfig) -> dict[str, Any]:
    """
    C{config} as values C{json} can write, for a worker.

    Every field goes, whatever its name, so a new setting reaches workers
    without a change here.  Bytes go as Latin-1 text (one character per
    byte, so any bytes survive) and networks as text, each in a one-key
    object that tells L{configFromJSON} what to make of it.

    @raise TypeError: for a value of a type not handled here.
    """
    return {
        field.name: _toJSON(getattr(config, field.name)) for field in fields(config)
    }


def configFromJSON(values: dict[str, Any]) -> ResponderConfig:
    """
    The configuration that L{configToJSON} turned into C{values}.
    """
    return ResponderConfig(**{name: _fromJSON(value) for name, value in values.items()})


def _toJSON(value: object) -> object:
    if isinstance(value, bytes):
        return {"bytes": value.decode("latin-1")}
    if isinstance(value, IPv4Network | IPv6Network):
        return {"network": str(value)}
    if isinstance(value, tuple):
        return [_toJSON(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot pass {value!r} to a worker")


def _fromJSON(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_fromJSON(item) for item in value)
    if isinstance(value, dict):
        if "bytes" in value:
            return value["bytes"].encode("latin-1")
        return ip_network(value["network"])
    return value


def controlFD(sockets: tuple["SharedSocket", ...]) -> int:
    """
    The descriptor of a worker's control channel (see
    L{responder.workers._channel}): the second after its sockets; the first
    is the shared counters' (see C{WorkerPoolService.statsFD}).
    """
    return FIRST_SOCKET_FD + len(sockets) + 1


def workerDescription(description: str) -> str:
    """
    The endpoint description a worker parses for the socket the parent
    opened from C{description}.

    A worker lets C{serverFromString} build the endpoint, so that TLS and
    the PROXY protocol wrap its factory exactly as in one process; only the
    final listen adopts the inherited socket instead of opening one.  That
    needs the description as it is, but for C{systemd:}: systemd passed the
    socket to the parent alone, so a worker parses a C{tcp:} stand-in whose
    arguments go unused.

    @raise ValueError: naming C{description}, if workers cannot share its
        socket.
    """
    prefix, rest = unwrapProxy(description)
    kind = endpointType(rest)
    if kind not in SHAREABLE:
        raise ValueError(
            f"--workers cannot share endpoint {description!r}: only tcp:, tcp6:, "
            "unix:, ssl: and systemd: sockets can be shared, also behind haproxy:"
        )
    return prefix + ("tcp:0" if kind == "systemd" else rest)


def perWorker(description: str) -> bool:
    """
    Whether the endpoint C{description} (checked by L{workerDescription})
    can give each worker a listening socket of its own.
    """
    return endpointType(unwrapProxy(description)[1]) in PER_WORKER


@dataclass(frozen=True)
class SharedSocket:
    """
    A listening socket as a worker finds it: the same for every worker, or
    one of a worker's own (see L{responder.workers._reuseport}) at the same
    descriptor in each.

    @ivar fd: its descriptor in the worker.
    @ivar family: its address family: C{AF_INET}, C{AF_INET6} or C{AF_UNIX}.
    @ivar description: what the worker parses to wrap its factory as the
        endpoint would (see L{workerDescription}).
    """

    fd: int
    family: int
    description: str


@dataclass(frozen=True)
class WorkerSpec:
    """
    Everything a worker needs to know, sent as JSON on its standard input
    (no size limit, unlike an argument, and not shown by C{ps}).

    @ivar number: 1 to N.  A restarted worker keeps its number, which its
        log lines show, as in C{[responder.w2#info]}.
    @ivar parent: the parent's pid; a worker whose parent has gone stops.
    @ivar statsFD: the descriptor of the parent's shared counters (see
        L{responder.metrics.SharedStatsTable}) in the worker, which counts
        in its slot there; C{None} without a metrics endpoint.
    @ivar heartbeat: seconds between the worker's L{ALIVE} messages.
    """

    number: int
    parent: int
    config: ResponderConfig
    sockets: tuple[SharedSocket, ...]
    statsFD: int | None = None
    heartbeat: float = 1.0

    def toJSON(self) -> bytes:
        return json.dumps(
            {
                "number": self.number,
                "parent": self.parent,
                "config": configToJSON(self.config),
                "sockets": [asdict(shared) for shared in self.sockets],
                "statsFD": self.statsFD,
                "heartbeat": self.heartbeat,
            }
        ).encode()

    @classmethod
    def fromJSON(cls, data: bytes) -> Self:
        values = json.loads(data)
        return cls(
            number=values["number"],
            parent=values["parent"],
            config=configFromJSON(values["config"]),
            sockets=tuple(SharedSocket(**shared) for shared in values["sockets"]),
            statsFD=values["statsFD"],
            heartbeat=values["heartbeat"],
        )
