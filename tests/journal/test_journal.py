"""
The journal keeps the last entries within its bounds, and counts what it
drops.
"""

from hypothesis import given
from hypothesis import strategies as st

from responder.journal import ENTRY_OVERHEAD, Journal, JournalEntry


def entry(data: bytes, time: float = 0.0) -> JournalEntry:
    return JournalEntry(time, "192.0.2.7:40000", data, "answered")


def test_keeps_entries_in_order() -> None:
    journal = Journal(3)
    for i in range(3):
        journal.record(entry(b"%d" % i))
    assert [e.data for e in journal] == [b"0", b"1", b"2"]
    assert journal.dropped == 0


def test_count_bound_drops_the_oldest() -> None:
    journal = Journal(2)
    for i in range(5):
        journal.record(entry(b"%d" % i))
    assert [e.data for e in journal] == [b"3", b"4"]
    assert journal.dropped == 3


def test_byte_bound_drops_the_oldest() -> None:
    one = len(entry(b"x" * 100).peer) + 100 + ENTRY_OVERHEAD
    journal = Journal(1000, maxBytes=2 * one)
    for i in range(4):
        journal.record(entry(b"%d" % i * 100))
    assert [e.data[:1] for e in journal] == [b"2", b"3"]
    assert journal.dropped == 2
    assert journal.size == 2 * one


def test_an_entry_bigger_than_the_bound_is_dropped_itself() -> None:
    journal = Journal(10, maxBytes=ENTRY_OVERHEAD)
    journal.record(entry(b"x"))
    assert list(journal) == [] and journal.dropped == 1 and journal.size == 0


def test_clear_forgets_entries_and_drops() -> None:
    journal = Journal(1)
    journal.record(entry(b"a"))
    journal.record(entry(b"b"))
    journal.clear()
    assert (len(journal), journal.dropped, journal.size) == (0, 0, 0)


def test_bounds_must_be_positive() -> None:
    for count, size in ((0, 10), (10, 0)):
        try:
            Journal(count, size)
        except ValueError:
            continue
        raise AssertionError(f"Journal({count}, {size}) was accepted")


@given(
    st.integers(1, 20),
    st.integers(ENTRY_OVERHEAD, 20 * ENTRY_OVERHEAD),
    st.lists(st.binary(max_size=2000), max_size=60),
)
def test_never_over_its_bounds(count: int, size: int, requests: list[bytes]) -> None:
    journal = Journal(count, size)
    for data in requests:
        journal.record(entry(data))
        assert len(journal) <= count and journal.size <= size
    kept = [e.data for e in journal]
    assert kept == requests[len(requests) - len(kept) :]
    assert journal.dropped == len(requests) - len(kept)
