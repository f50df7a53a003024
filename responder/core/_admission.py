"""
Who may connect: access rules, connection limits, and a log of refusals
that a flood cannot flood.
"""

from collections import Counter
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.logger import Logger

from ..config import Network, ResponderConfig
from ._address import describeAddress, hostOf

REFUSED_BY_ACCESS = "access rules"
REFUSED_BY_LIMIT = "connection limit"
REFUSED_BY_PEER_LIMIT = "per-address limit"


@dataclass(frozen=True)
class AccessRules:
    """
    Allow and deny lists of networks.  A peer in a denied network is
    refused; when the allow list is not empty, a peer outside it is refused
    too.
    """

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()

    def permits(self, host: str) -> bool:
        """
        Whether C{host} (an IPv4 or IPv6 address) may connect.
        """
        address: IPv4Address | IPv6Address = ip_address(host.split("%", 1)[0])
        # A dual-stack tcp6 listener sees IPv4 clients as ::ffff:a.b.c.d;
        # rules written for IPv4 must still apply to them.
        if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.deny):
            return False
        return not self.allow or any(address in network for network in self.allow)


class PeerCounts:
    """
    Open connections per peer host, for the per-address limit.  Hosts are
    dropped when their count reaches zero, so the table only ever holds
    peers that are connected now.
    """

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()

    def __getitem__(self, host: str) -> int:
        return self._counts[host]

    def __len__(self) -> int:
        return len(self._counts)

    def add(self, host: str) -> None:
        self._counts[host] += 1

    def remove(self, host: str) -> None:
        remaining = self._counts[host] - 1
        if remaining > 0:
            self._counts[host] = remaining
        else:
            del self._counts[host]


class RefusalReporter:
    """
    Log refused connections without writing a line per connection.

    The first refusal is logged at once; later ones are counted, and a
    summary line per reason is written at most once per C{interval}.  A
    flood of a million connections thus costs a few lines, not a million.
    """

    def __init__(
        self, clock: IReactorTime, log: Logger, interval: float = 10.0
    ) -> None:
        self._clock = clock
        self.log = log
        self._interval = interval
        self._pending: Counter[str] = Counter()
        self._timer: IDelayedCall | None = None

    def refused(self, reason: str, peer: str) -> None:
        """
        Note that a connection from C{peer} was refused for C{reason}.
        """
        if self._timer is None:
            self.log.warn(
                "refused connection from {peer}: {reason}; further refusals "
                "are summarised every {interval:g} s",
                peer=peer,
                reason=reason,
                interval=self._interval,
            )
            self._timer = self._clock.callLater(self._interval, self._summarise)
        else:
            self._pending[reason] += 1

    def _summarise(self) -> None:
        self._timer = None
        if self._pending:
            self._flush()
            self._timer = self._clock.callLater(self._interval, self._summarise)

    def _flush(self) -> None:
        for reason, count in sorted(self._pending.items()):
            self.log.warn(
                "refused {count} more connections in the last {interval:g} s: {reason}",
                count=count,
                reason=reason,
                interval=self._interval,
            )
        self._pending.clear()

    def stop(self) -> None:
        """
        Write any pending summary now and stop the timer.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._flush()


class Admission:
    """
    Decide whether to serve each new connection, from the configuration's
    limits and access rules, and log the refusals.

    @ivar admitsAll: no limit and no access rule is set: every connection
        is served, and nothing needs checking or counting.
    @ivar peers: open connections per peer host, kept only with a
        per-address limit.
    """

    def __init__(self, config: ResponderConfig, clock: IReactorTime, log: Logger):
        self._config = config
        self._access = AccessRules(config.allow, config.deny)
        self.admitsAll = not (
            config.maxConnections or config.maxPerIP or config.allow or config.deny
        )
        self.peers = PeerCounts()
        self._refusals = RefusalReporter(clock, log)

    def refusal(self, addr: IAddress, openNow: int) -> str | None:
        """
        Why a connection from C{addr} must be refused, with C{openNow}
        connections open now, or C{None} to serve it.  A refusal is logged.
        """
        reason = self._reason(addr, openNow)
        if reason is not None:
            self.refused(reason, addr)
        return reason

    def refused(self, reason: str, addr: IAddress) -> None:
        """
        Log that a connection from C{addr} was refused for C{reason}, with
        the other refusals: once, then in summaries.
        """
        self._refusals.refused(reason, describeAddress(addr))

    def _reason(self, addr: IAddress, openNow: int) -> str | None:
        config = self._config
        limit = config.maxConnections
        if limit is not None and openNow >= limit:
            return REFUSED_BY_LIMIT
        host = hostOf(addr)
        if host is None:
            return None
        if (config.allow or config.deny) and not self._access.permits(host):
            return REFUSED_BY_ACCESS
        perPeer = config.maxPerIP
        if perPeer is not None and self.peers[host] >= perPeer:
            return REFUSED_BY_PEER_LIMIT
        return None

    def opened(self, peer: IAddress) -> str | None:
        """
        A connection from C{peer} is served: count it against its host.

        @return: the host it counts against, for L{closed}, or C{None}.
        """
        if self._config.maxPerIP is None:
            return None
        host = hostOf(peer)
        if host is not None:
            self.peers.add(host)
        return host

    def closed(self, host: str) -> None:
        """
        A connection counted against C{host} has gone.
        """
        self.peers.remove(host)

    def stop(self) -> None:
        """
        Nothing more can be refused: write the last summary of refusals.
        """
        self._refusals.stop()
