"""
The reactor side of the fast path: events of its ports and transports
dispatched without a logging context each.
"""

from typing import Any

from twisted.logger import Logger
from twisted.python.log import callWithLogger

try:
    from twisted.internet.epollreactor import EPollReactor
except ImportError:  # pragma: no cover - not Linux
    EPollReactor = None  # type: ignore[assignment,misc]

_log = Logger()


class _DirectPoll:
    """
    An epoll reactor's C{doIteration}: Twisted's C{EPollReactor.doPoll},
    event for event, but calling C{_doReadOrWrite} for the fast path's
    ports and transports directly rather than through C{log.callWithLogger}.
    Their log events lose the connection's legacy log context ("system"),
    which only Twisted's own tracebacks showed.
    """

    def __init__(self, reactor: Any, direct: frozenset[type]) -> None:
        self.direct = direct
        self.poller = reactor._poller
        self.selectables = reactor._selectables
        self.doReadOrWrite = reactor._doReadOrWrite

    def __call__(self, timeout: float | None) -> None:
        selectables = self.selectables
        direct = self.direct
        doReadOrWrite = self.doReadOrWrite
        # Python retries a poll a signal interrupted (PEP 475), where
        # Twisted's doPoll still checks for EINTR.
        events = self.poller.poll(-1 if timeout is None else timeout, len(selectables))
        for fd, event in events:
            try:
                selectable = selectables[fd]
            except KeyError:
                continue
            if selectable.__class__ in direct:
                try:
                    doReadOrWrite(selectable, fd, event)
                except BaseException:
                    _log.failure("Unhandled error in {it}", it=selectable)
            else:
                callWithLogger(selectable, doReadOrWrite, selectable, fd, event)


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
