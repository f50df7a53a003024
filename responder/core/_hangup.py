"""
SIGHUP as a request to reload, handled in the reactor's thread.
"""

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any, cast

from twisted.internet.interfaces import IReactorFromThreads, IReactorTime


class HangupHandler:
    """
    While installed, SIGHUP calls C{action} from the reactor's thread
    rather than from inside whatever the signal interrupted; uninstalled,
    SIGHUP gets back the handler it had.
    """

    def __init__(self, clock: IReactorTime, action: Callable[[], None]) -> None:
        self._clock = clock
        self._action = action
        self._previous: Any = None

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGHUP, self._hangup)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGHUP, self._previous)
            self._previous = None

    def _hangup(self, number: int, frame: FrameType | None) -> None:
        if IReactorFromThreads.providedBy(self._clock):
            cast(IReactorFromThreads, self._clock).callFromThread(self._action)
        else:
            self._action()
