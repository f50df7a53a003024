"""
The journal as the control API shows it: JSON-ready entries, and the
filters of C{GET /requests} read from its query.
"""

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..escaping import escapeRequest
from ..journal import JournalEntry


@dataclass(frozen=True)
class Filters:
    """
    Which entries C{GET /requests} lists.

    @ivar since: only entries at or after this POSIX time.
    @ivar peer: only entries from this peer: an address and port as the
        log shows them (C{127.0.0.1:40000}), or an address (any port).
    @ivar limit: only the last this many of those.
    """

    since: float | None = None
    peer: str | None = None
    limit: int | None = None

    def admits(self, entry: JournalEntry) -> bool:
        if self.since is not None and entry.time < self.since:
            return False
        peer = self.peer
        if peer is not None and entry.peer != peer:
            return entry.peer.rpartition(":")[0].strip("[]") == peer.strip("[]")
        return True


def _one(args: Mapping[bytes, Sequence[bytes]], name: str) -> str | None:
    values = args.get(name.encode())
    if not values:
        return None
    if len(values) > 1:
        raise ValueError(f"{name} is given {len(values)} times")
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not UTF-8 text") from None


def parseFilters(args: Mapping[bytes, Sequence[bytes]]) -> Filters:
    """
    The filters in a request's query arguments.

    @raise ValueError: a one-line reason, for a 400.
    """
    unknown = sorted(set(args) - {b"since", b"peer", b"limit"})
    if unknown:
        shown = escapeRequest(unknown[0])
        raise ValueError(f"unknown query argument {shown!r}; use since, peer, limit")
    since = _one(args, "since")
    when = None
    if since is not None:
        try:
            parsed = datetime.fromisoformat(since)
        except ValueError:
            raise ValueError(
                f"since {escapeRequest(since.encode())!r} is not an ISO 8601 time"
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        when = parsed.timestamp()
    limit = _one(args, "limit")
    count = None
    if limit is not None:
        if not (limit.isascii() and limit.isdigit() and 0 < int(limit) <= 10**9):
            raise ValueError("limit must be a whole number from 1")
        count = int(limit)
    return Filters(when, _one(args, "peer"), count)


def isoTime(when: float) -> str:
    """
    POSIX time as ISO 8601 in UTC, to the microsecond.
    """
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="microseconds")


def entryView(entry: JournalEntry) -> dict[str, object]:
    """
    One entry as JSON: the exact bytes in base64, and the escaped text the
    request log shows.
    """
    return {
        "time": isoTime(entry.time),
        "peer": entry.peer,
        "data": base64.b64encode(entry.data).decode("ascii"),
        "request": escapeRequest(entry.data),
        "outcome": entry.outcome,
        "rule": entry.rule,
        "rule_name": entry.ruleName,
    }


def selected(entries: Iterable[JournalEntry], filters: Filters) -> list[JournalEntry]:
    """
    The entries (oldest first) that C{filters} admits.
    """
    chosen = [entry for entry in entries if filters.admits(entry)]
    if filters.limit is not None:
        chosen = chosen[-filters.limit :]
    return chosen
