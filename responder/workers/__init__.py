"""
Workers: C{--workers N} processes serving the same listening sockets.

The spec shared by parent and child (L{WorkerSpec}, and the JSON it
travels in), the parent's pool (L{WorkerPoolService}, which wraps the
server of one process) and the supervisor of each worker's process
(L{WorkerSlot}) live here; the child is L{responder.workers.child}, run as
C{python -m responder.workers.child}.  The assembly imports this package
only when more than one worker is asked for.
"""

from ._pool import WorkerPoolService
from ._spec import (
    FIRST_SOCKET_FD,
    SHAREABLE,
    SharedSocket,
    WorkerSpec,
    configFromJSON,
    configToJSON,
    workerDescription,
)
from ._supervisor import CHILD_MODULE, KILL_MARGIN, RESTART_INTERVAL, WorkerSlot

__all__ = [
    "CHILD_MODULE",
    "FIRST_SOCKET_FD",
    "KILL_MARGIN",
    "RESTART_INTERVAL",
    "SHAREABLE",
    "SharedSocket",
    "WorkerPoolService",
    "WorkerSlot",
    "WorkerSpec",
    "configFromJSON",
    "configToJSON",
    "workerDescription",
]
