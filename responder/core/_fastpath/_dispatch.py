"""
The reactor side of the fast path: events of its ports and transports
dispatched without a logging context each.
"""

import select
import sys
from typing import Any

from twisted.logger import Logger
from twisted.python.log import callWithLogger

try:
    from twisted.internet.epollreactor import EPollReactor as EPollReactor
except ImportError:  # pragma: no cover - not Linux
    EPollReactor = None  # type: ignore[assignment,misc]

#: The events Twisted's epoll reactor watches (none of it off Linux, where
#: there is no such reactor).
EPOLLIN: int = getattr(select, "EPOLLIN", 0)
EPOLLOUT: int = getattr(select, "EPOLLOUT", 0)

_log = Logger()


class _DirectPoll:
    """
    An epoll reactor's C{doIteration}: Twisted's C{EPollReactor.doPoll},
    event for event, but calling C{_doReadOrWrite} for the fast path's
    ports and transports directly rather than through C{log.callWithLogger};
    and for their commonest event, "readable" alone, doing what
    C{_doReadOrWrite} does without calling it.  Their log events lose the
    connection's legacy log context ("system"), which only Twisted's own
    tracebacks showed.
    """

    def __init__(self, reactor: Any, direct: frozenset[type]) -> None:
        self.direct = direct
        self.poller = reactor._poller
        self.selectables = reactor._selectables
        self.doReadOrWrite = reactor._doReadOrWrite
        self.disconnect = reactor._disconnectSelectable

    def __call__(self, timeout: float | None) -> None:
        selectables = self.selectables
        direct = self.direct
        doReadOrWrite = self.doReadOrWrite
        disconnect = self.disconnect
        # Python retries a poll a signal interrupted (PEP 475), where
        # Twisted's doPoll still checks for EINTR.
        events = self.poller.poll(-1 if timeout is None else timeout, len(selectables))
        for fd, event in events:
            try:
                selectable: Any = selectables[fd]
            except KeyError:
                continue
            kind = selectable.__class__
            if kind not in direct:
                callWithLogger(selectable, doReadOrWrite, selectable, fd, event)
            elif event == EPOLLIN and selectable.fileno() != -1:
                # Twisted's _doReadOrWrite for the one event a port or a
                # connection waiting for its request gets, written in:
                # read, and lose the connection if reading says so (or
                # raises).
                try:
                    why = selectable.doRead()
                except BaseException:
                    why = sys.exc_info()[1]
                    _log.failure("Unhandled error in {it}", it=selectable)
                if why:
                    try:
                        disconnect(selectable, why, True)
                    except BaseException:
                        _log.failure("Unhandled error in {it}", it=selectable)
            else:
                try:
                    doReadOrWrite(selectable, fd, event)
                except BaseException:
                    _log.failure("Unhandled error in {it}", it=selectable)


def dispatchDirectly(reactor: object, direct: frozenset[type]) -> bool:
    """
    Make C{reactor}, if it is Twisted's epoll reactor, dispatch the events
    of instances of the classes in C{direct} directly (L{_DirectPoll}).

    @return: whether C{reactor} was changed now.
    """
    if EPollReactor is None or type(reactor) is not EPollReactor:
        return False
    real: Any = reactor
    if isinstance(real.doIteration, _DirectPoll):
        return False
    real.doIteration = _DirectPoll(reactor, direct)
    return True
