"""
The journal keeps the last entries within its bounds, and counts what it
drops.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from responder.journal import ENTRY_OVERHEAD, MAX_PEER, Journal, JournalEntry

PEER = "192.0.2.7:40000"


def fill(journal: Journal, *requests: bytes) -> None:
    for data in requests:
        journal.record(1.5, PEER, data, "answered")


def test_keeps_entries_in_order() -> None:
    journal = Journal(3, 10)
    fill(journal, b"0", b"1")
    journal.record(2.0, "[::1]:5", b"2", "reset", 3, "third")
    assert list(journal) == [
        JournalEntry(1.5, PEER, b"0", "answered", None, None),
        JournalEntry(1.5, PEER, b"1", "answered", None, None),
        JournalEntry(2.0, "[::1]:5", b"2", "reset", 3, "third"),
    ]
    assert journal.dropped == 0 and len(journal) == 3


def test_count_bound_drops_the_oldest() -> None:
    journal = Journal(2, 10)
    fill(journal, *(b"%d" % i for i in range(5)))
    assert [e.data for e in journal] == [b"3", b"4"]
    assert journal.dropped == 3


def test_byte_bound_lowers_the_capacity() -> None:
    """
    The byte bound counts each entry at its largest: C{maxRequest} bytes
    of request and L{ENTRY_OVERHEAD}.
    """
    largest = 1000 + 33 + ENTRY_OVERHEAD
    assert Journal(1000, 1000, maxBytes=3 * largest).capacity == 3
    assert Journal(1000, 1000, maxBytes=3 * largest - 1).capacity == 2
    assert Journal(2, 1000, maxBytes=3 * largest).capacity == 2
    assert Journal(10, 10**9).capacity == 1
    journal = Journal(1000, 1000, maxBytes=2 * largest)
    fill(journal, b"a", b"b", b"c")
    assert [e.data for e in journal] == [b"b", b"c"] and journal.dropped == 1


def test_default_bounds() -> None:
    assert Journal(10_000, 1024).capacity == 10_000
    assert Journal(10_000, 65536).capacity == 32 * 1024 * 1024 // (65536 + 33 + 1280)


def test_long_peers_are_cut() -> None:
    journal = Journal(1, 1)
    journal.record(0.0, "x" * 600, b"", "refused")
    assert [len(e.peer) for e in journal] == [MAX_PEER]


def test_clear_forgets_entries_and_drops() -> None:
    journal = Journal(1, 1)
    fill(journal, b"a", b"b")
    journal.clear()
    assert (len(journal), journal.dropped, list(journal)) == (0, 0, [])
    fill(journal, b"c")
    assert (journal.dropped, [e.data for e in journal]) == (0, [b"c"])
    fill(journal, b"d", b"e")
    assert (journal.dropped, [e.data for e in journal]) == (2, [b"e"])


@pytest.mark.parametrize("count, request_, size", [(0, 1, 1), (1, -1, 1), (1, 1, 0)])
def test_bounds_must_be_positive(count: int, request_: int, size: int) -> None:
    with pytest.raises(ValueError):
        Journal(count, request_, size)


@given(
    st.integers(1, 20),
    st.lists(st.binary(max_size=50), max_size=60),
    st.integers(0, 3),
)
def test_keeps_the_last_and_counts_the_rest(
    count: int, requests: list[bytes], clearAt: int
) -> None:
    journal = Journal(count, 50)
    for i, data in enumerate(requests):
        if i == clearAt:
            journal.clear()
        fill(journal, data)
        assert len(journal) <= count
    since = requests[clearAt:] if clearAt < len(requests) else requests
    kept = [e.data for e in journal]
    assert kept == since[len(since) - len(kept) :]
    assert len(kept) == min(count, len(since))
    assert journal.dropped == len(since) - len(kept)
