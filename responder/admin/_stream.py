"""
A long list of requests written a batch at a time, between which the
reactor serves everything else: a full journal of binary requests takes
seconds to render, which must not stop the responder answering.
"""

import json
from collections.abc import Iterator, Sequence

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.task import Cooperator
from twisted.python.failure import Failure
from twisted.web.server import Request

from ..journal import JournalEntry
from ._view import entryView

#: Entries rendered at once; a list this long or shorter is answered at
#: once.
BATCH = 200


def streamEntries(
    request: Request,
    entries: Sequence[JournalEntry],
    dropped: int,
    clock: IReactorTime,
) -> None:
    """
    Write the body of C{GET /requests} for C{entries} to C{request} in
    batches of L{BATCH}, each in a reactor turn of its own (scheduled on
    C{clock}), and finish it; stop if the client goes away.
    """

    def schedule(work: object) -> IDelayedCall:
        return clock.callLater(0, work)  # type: ignore[arg-type]

    def batches() -> Iterator[None]:
        request.write(b'{"requests": [')
        for start in range(0, len(entries), BATCH):
            rendered = ", ".join(
                json.dumps(entryView(entry)) for entry in entries[start : start + BATCH]
            )
            request.write((", " if start else "").encode() + rendered.encode())
            yield None
        request.write(f'], "dropped": {dropped}}}\n'.encode())
        request.finish()

    # Each batch is a turn of its own, rather than the default 10 ms of
    # work per turn, so that requests are answered between any two.
    cooperator = Cooperator(
        terminationPredicateFactory=lambda: lambda: True,
        scheduler=schedule,
    )
    task = cooperator.cooperate(batches())

    def gone(reason: Failure) -> None:
        task.stop()

    request.notifyFinish().addErrback(gone)
