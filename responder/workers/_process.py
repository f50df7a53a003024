"""
A worker's process seen from the parent: what it writes to its pipes, how
it ended, and the environment it starts with.
"""

import os
import signal
from typing import Protocol

from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.interfaces import IProcessTransport
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger, eventFromJSON
from twisted.python.failure import Failure

from ._spec import ALIVE, READY


class Owner(Protocol):
    """
    What a L{WorkerProtocol} needs of the slot that started it (the
    slot's module knows this one, not the other way round).
    """

    number: int

    @property
    def log(self) -> Logger:
        """
        Where the worker's lines and events go.
        """

    def heard(self, message: bytes) -> None:
        """
        The worker said L{READY} or L{ALIVE}.
        """

    def ended(self, protocol: "WorkerProtocol", reason: Failure) -> None:
        """
        The worker's process has exited.
        """


class WorkerProtocol(ProcessProtocol):
    """
    One worker process, seen from the parent: relays what it writes to its
    pipes and reports its end to its L{WorkerSlot}.

    @ivar pid: the process id, kept for the messages after it has exited.
    """

    transport: IProcessTransport

    def __init__(self, slot: "Owner") -> None:
        self.slot = slot
        self.pid = 0
        self._partial = {1: bytearray(), 2: bytearray()}

    def connectionMade(self) -> None:
        self.pid = self.transport.pid

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        partial = self._partial[childFD]
        partial += data
        *lines, rest = partial.split(b"\n")
        partial[:] = rest
        for line in lines:
            self._relay(childFD, bytes(line))

    def _relay(self, childFD: int, line: bytes) -> None:
        """
        Emit a line from the worker: a log event (see C{jsonFileLogObserver},
        which starts each with a record separator) as if it had been
        logged here, anything else as a warning; but L{READY} and L{ALIVE}
        on its stderr are for its slot.
        """
        if childFD == 2 and line in (READY, ALIVE):
            self.slot.heard(line)
            return
        log = self.slot.log
        if childFD == 1 and line.startswith(b"\x1e"):
            try:
                event = eventFromJSON(line[1:].decode("utf-8"))
            except ValueError:
                pass
            else:
                log.observer(event)
                return
        log.warn(
            "worker {number}: {line}",
            number=self.slot.number,
            line=line.decode("utf-8", "backslashreplace"),
        )

    def processEnded(self, reason: Failure) -> None:
        for childFD, partial in self._partial.items():
            if partial:
                self.childDataReceived(childFD, b"\n")
        self.slot.ended(self, reason)


def describeExit(reason: Failure) -> str:
    """
    How a process ended, in words: "exited with status 1", "was killed by
    SIGKILL".
    """
    value = reason.value
    assert isinstance(value, ProcessDone | ProcessTerminated)
    if value.signal is not None:
        return f"was killed by {signal.Signals(value.signal).name}"
    return f"exited with status {value.exitCode}"


def workerEnvironment() -> dict[str, str]:
    """
    The parent's environment, less systemd's C{LISTEN_*} variables: they
    describe the sockets systemd passed to the parent, which a worker gets
    from the parent instead.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("LISTEN_")
    }
