"""
The request journal: the last requests a server saw, kept in memory for a
test to ask about, bounded by count and by bytes.
"""

from collections import deque
from collections.abc import Iterator
from typing import NamedTuple

#: Bytes an entry costs beyond its request's own: the entry object, its
#: peer text and the deque's slot, rounded up.  It makes the byte bound a
#: bound on memory, not only on request data, whatever the requests are.
ENTRY_OVERHEAD = 400

#: Bytes kept by default: request data plus L{ENTRY_OVERHEAD} per entry.
DEFAULT_BYTES = 32 * 1024 * 1024


class JournalEntry(NamedTuple):
    """
    One request as the server saw it: a tuple, the cheapest object to
    make once per request.

    @ivar time: when it came, in the server clock's seconds (POSIX time).
    @ivar peer: the client, as request lines name it (C{"127.0.0.1:40000"}).
    @ivar data: the request's exact bytes, as cut by C{--max-request} and
        the delimiter; empty for a refused connection.
    @ivar outcome: C{"answered"}, the fault a rule chose (C{"closed"},
        C{"reset"}, C{"unanswered"}), or C{"refused"}.
    @ivar rule: the index of the rule that matched (1 for the first), or
        C{None} when the default response answered.
    @ivar ruleName: the C{name} the rules gave that rule, if any.
    """

    time: float
    peer: str
    data: bytes
    outcome: str
    rule: int | None = None
    ruleName: str | None = None


def _size(entry: JournalEntry) -> int:
    """
    What C{entry} counts against a journal's byte bound.
    """
    return len(entry.data) + len(entry.peer) + ENTRY_OVERHEAD


class Journal:
    """
    The last requests, oldest first, bounded by count and by bytes: when a
    new entry would pass either bound, the oldest go, and L{dropped} counts
    them.  Memory is therefore bounded whatever clients send, unlike an
    unbounded journal that grows for as long as the server runs.

    @ivar maxEntries: entries kept at most.
    @ivar maxBytes: bytes kept at most, counting each entry's request and
        peer and L{ENTRY_OVERHEAD}.
    @ivar dropped: entries dropped to keep within the bounds since the
        journal was last cleared.
    @ivar size: bytes the entries kept now count for.
    """

    def __init__(self, maxEntries: int, maxBytes: int = DEFAULT_BYTES) -> None:
        if maxEntries < 1 or maxBytes < 1:
            raise ValueError("a journal keeps at least one entry and one byte")
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
        self.dropped = 0
        self.size = 0
        self._entries: deque[JournalEntry] = deque()

    def record(self, entry: JournalEntry) -> None:
        """
        Keep C{entry}, dropping the oldest entries as the bounds require.
        An entry bigger than the whole byte bound is dropped itself.
        """
        entries = self._entries
        entries.append(entry)
        self.size += _size(entry)
        while len(entries) > self.maxEntries or self.size > self.maxBytes:
            self.size -= _size(entries.popleft())
            self.dropped += 1

    def clear(self) -> None:
        """
        Forget every entry, and start counting drops again.
        """
        self._entries.clear()
        self.size = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        """
        The entries, oldest first.
        """
        return iter(self._entries)
