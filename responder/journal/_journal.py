"""
The request journal: the last requests a server saw, kept in memory for a
test to ask about, bounded by count and by bytes.
"""

from collections import deque
from collections.abc import Iterator
from itertools import count
from typing import NamedTuple

#: Bytes an entry may cost beyond its request's: the tuple, its numbers,
#: the deque's slot (about 200), its peer (cut to L{MAX_PEER} ASCII
#: characters: 561) and a rule name (at most 100 characters: 476), rounded
#: up.  Measured, an entry of a short IPv4 peer and no rule costs about
#: 230 bytes beyond its request.
ENTRY_OVERHEAD = 1280

#: Characters of a peer that are kept; no address Twisted reports is
#: longer, escaped (a unix socket's name is at most 108 bytes).
MAX_PEER = 512

#: Bytes kept at most by default, whatever C{--max-request} is.
DEFAULT_BYTES = 32 * 1024 * 1024

#: What a C{bytes} object costs beyond its contents.
_BYTES_HEADER = 33


class JournalEntry(NamedTuple):
    """
    One request as the server saw it.

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


class Journal:
    """
    The last requests, oldest first, bounded by count and by bytes: when a
    new entry comes and the journal is full, the oldest goes, and
    L{dropped} counts it.  Memory is therefore bounded whatever clients
    send, unlike an unbounded journal that grows for as long as the server
    runs.

    Both bounds become one count, L{capacity}, from the most an entry can
    cost: its request is at most C{maxRequest} bytes, the rest at most
    L{ENTRY_OVERHEAD}.  Recording is then one append to a bounded
    C{deque}, which drops the oldest entry itself: it runs once per
    request, and costs a fraction of a microsecond.

    @ivar capacity: entries kept at most: C{maxEntries}, or fewer if that
        many of the largest entries would pass C{maxBytes}.
    """

    def __init__(
        self, maxEntries: int, maxRequest: int, maxBytes: int = DEFAULT_BYTES
    ) -> None:
        if maxEntries < 1 or maxRequest < 0 or maxBytes < 1:
            raise ValueError("a journal keeps at least one entry")
        largest = maxRequest + _BYTES_HEADER + ENTRY_OVERHEAD
        self.capacity = max(1, min(maxEntries, maxBytes // largest))
        # Each entry is a plain tuple that starts with its number, so that
        # how many were dropped is known without counting on every record.
        self._entries: deque[tuple[int, float, str, bytes, str, int | None, str | None]]
        self._entries = deque(maxlen=self.capacity)
        self._numbers = count()
        self._first = 0

    def record(
        self,
        time: float,
        peer: str,
        data: bytes,
        outcome: str,
        rule: int | None = None,
        ruleName: str | None = None,
    ) -> None:
        """
        Keep a request (see L{JournalEntry} for the fields); the oldest
        entry goes if the journal is full.
        """
        self._entries.append(
            (next(self._numbers), time, peer[:MAX_PEER], data, outcome, rule, ruleName)
        )

    @property
    def dropped(self) -> int:
        """
        Entries dropped to stay within the bounds since the journal was
        last cleared.
        """
        entries = self._entries
        if not entries:
            return 0
        return entries[-1][0] + 1 - self._first - len(entries)

    def clear(self) -> None:
        """
        Forget every entry, and start counting drops again.
        """
        self._entries.clear()
        self._first = next(self._numbers) + 1

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        """
        The entries, oldest first.
        """
        return (JournalEntry._make(entry[1:]) for entry in list(self._entries))
