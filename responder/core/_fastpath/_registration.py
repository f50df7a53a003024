"""
Registering a fast path transport with the reactor: held until its port
releases it, and on Twisted's epoll reactor in one call.
"""

from typing import Any

from twisted.internet import tcp

from ._dispatch import EPOLLIN, EPOLLOUT, EPollReactor


class RegisteringServer(tcp.Server):
    """
    A C{tcp.Server} whose registration for reading can be held (a
    L{ReadAtOncePort} reads from a new connection before it registers
    it), and which, on Twisted's epoll reactor, registers and unregisters
    itself: what C{addReader} and C{_add}, C{removeReader} and C{_remove}
    do, in one call rather than four or five, for every connection whose
    request was not there when it was accepted.
    """

    #: Whether registering for reading waits for L{release}.
    _held = False
    #: Whether the protocol wants to read, while registration is held.
    _wantRead = False
    #: Whether this transport may be registered for reading, or for
    #: writing: only C{startReading} and C{startWriting} register it, so a
    #: close can skip the reactor when it never was (a connection answered
    #: as the port accepted it, or whose answer went out at once).
    _reading = False
    _writing = False

    def startReading(self) -> None:
        """
        Register for reading (unless the port holds registration): on
        Twisted's epoll reactor, what its C{addReader} and C{_add} do, in
        this one call rather than three (a socket is never one of the
        files epoll refuses, which C{addReader} polls instead).
        """
        if self._held:
            self._wantRead = True
            return
        self._reading = True
        reactor: Any = self.reactor
        if type(reactor) is not EPollReactor:
            super().startReading()  # type: ignore[no-untyped-call]
            return
        fd = self.fileno()
        reads = reactor._reads
        if fd not in reads:
            # As Twisted does: its own state changes only once epoll agrees.
            if fd in reactor._writes:
                reactor._poller.modify(fd, EPOLLIN | EPOLLOUT)
            else:
                reactor._poller.register(fd, EPOLLIN)
            reads.add(fd)
            reactor._selectables[fd] = self

    def stopReading(self) -> None:
        """
        Unregister from reading: on Twisted's epoll reactor, what its
        C{removeReader} and C{_remove} do, in this one call rather than
        four.
        """
        if self._held:
            self._wantRead = False
            return
        if not self._reading:
            return
        self._reading = False
        reactor: Any = self.reactor
        fd = self.fileno()
        if type(reactor) is not EPollReactor or fd == -1:
            super().stopReading()  # type: ignore[no-untyped-call]
            return
        reads = reactor._reads
        if fd in reads:
            if fd in reactor._writes:
                reactor._poller.modify(fd, EPOLLOUT)
            else:
                del reactor._selectables[fd]
                reactor._poller.unregister(fd)
            reads.remove(fd)

    def startWriting(self) -> None:
        self._writing = True
        super().startWriting()  # type: ignore[no-untyped-call]

    def stopWriting(self) -> None:
        if self._writing:
            self._writing = False
            super().stopWriting()  # type: ignore[no-untyped-call]

    def release(self) -> None:
        """
        Stop holding: register for reading if the connection is still open
        and its protocol wants to read.
        """
        if self._held:
            self._held = False
            if self._wantRead and self.connected:
                self.startReading()
