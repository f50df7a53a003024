"""
Workers: C{--workers N} processes serving the same listening sockets.

The spec shared by parent and child (L{WorkerSpec}, and the JSON it
travels in), the parent's pool (L{WorkerPoolService}, which wraps the
server of one process) and the supervisor of each worker's process
(L{WorkerSlot}) live here; the child is L{responder.workers.child}, run as
C{python -m responder.workers.child}.  The assembly imports this package
only when more than one worker is asked for.
"""

from ._health import Backoff, Heartbeat
from ._pool import WorkerPoolService
from ._spec import (
    ALIVE,
    FIRST_SOCKET_FD,
    READY,
    SHAREABLE,
    SharedSocket,
    WorkerSpec,
    configFromJSON,
    configToJSON,
    workerDescription,
)
from ._supervisor import (
    BOOT_FAILURES,
    BOOT_TIMEOUT,
    CHILD_MODULE,
    KILL_MARGIN,
    RESTART_INTERVAL,
    WorkerSlot,
)

__all__ = [
    "ALIVE",
    "BOOT_FAILURES",
    "BOOT_TIMEOUT",
    "CHILD_MODULE",
    "FIRST_SOCKET_FD",
    "KILL_MARGIN",
    "READY",
    "RESTART_INTERVAL",
    "SHAREABLE",
    "Backoff",
    "Heartbeat",
    "SharedSocket",
    "WorkerPoolService",
    "WorkerSlot",
    "WorkerSpec",
    "configFromJSON",
    "configToJSON",
    "workerDescription",
]
