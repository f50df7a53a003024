"""
The framer on its own: bytes pushed straight in, requests out, with no
transport and no reactor.
"""

from hypothesis import given
from hypothesis import strategies as st

from responder.framing import StreamFramer, firstRequest


def frame(framer: StreamFramer, *chunks: bytes) -> list[bytes]:
    """
    Push C{chunks} in one at a time and collect every request.
    """
    requests = []
    for chunk in chunks:
        framer.receive(chunk)
        while (request := framer.next()) is not None:
            requests.append(request)
    return requests


def test_first_request_cut_at_delimiter() -> None:
    assert firstRequest(b"hello\0world", b"\0", 1024) == b"hello"
    assert firstRequest(b"hello", b"\0", 1024) == b"hello"


def test_first_request_starting_with_delimiter_is_empty() -> None:
    """
    Data that starts with the delimiter is the empty request, not the rest.
    """
    assert firstRequest(b"\0rest", b"\0", 1024) == b""


def test_first_request_cut_to_max_before_delimiter() -> None:
    """
    The seed's order: C{recv} into the buffer first, then C{%s} stops at
    the NUL; a delimiter past the limit does not count.
    """
    assert firstRequest(b"abcdef\0", b"\0", 4) == b"abcd"
    assert firstRequest(b"ab\0cdef", b"\0", 4) == b"ab"
    assert firstRequest(b"abcd\0", b"\0", 4) == b"abcd"


def test_first_request_line() -> None:
    """
    Under a newline delimiter a CR before the newline is dropped, and only
    there.
    """
    assert firstRequest(b"GET\r\nrest", b"\n", 1024) == b"GET"
    assert firstRequest(b"GET\r", b"\n", 1024) == b"GET\r"
    assert firstRequest(b"GET\r\0", b"\0", 1024) == b"GET\r"


def test_stream_needs_data() -> None:
    framer = StreamFramer(b"\0", 1024)
    assert framer.next() is None
    framer.receive(b"hel")
    assert framer.next() is None
    assert framer.partial and not framer.unread
    framer.receive(b"lo\0wor")
    assert framer.next() == b"hello"
    assert framer.unread
    assert framer.next() is None
    assert framer.partial
    assert framer.finish() == b"wor"
    assert framer.finish() is None


def test_stream_pipelined() -> None:
    framer = StreamFramer(b"\0", 1024)
    assert frame(framer, b"a\0\0bc\0") == [b"a", b"", b"bc"]
    assert not framer.unread and not framer.partial


def test_stream_one_at_a_time() -> None:
    """
    Bytes not asked for yet stay unread, and later data is added after
    them: the caller may stop between requests (to wait for a slow
    answer) and go on later.
    """
    framer = StreamFramer(b"\0", 1024)
    framer.receive(b"a\0b\0c")
    assert framer.next() == b"a"
    framer.receive(b"\0d\0")
    assert [framer.next(), framer.next(), framer.next()] == [b"b", b"c", b"d"]
    assert framer.next() is None


def test_stream_cut_across_chunks() -> None:
    """
    Exactly C{maxRequest} bytes of a long request are kept, however it is
    split; the rest up to the delimiter is dropped.
    """
    framer = StreamFramer(b"\0", 4)
    assert frame(framer, b"ab", b"cdef", b"gh\0xy\0") == [b"abcd", b"xy"]
    assert frame(framer, b"abc", b"d", b"e\0") == [b"abcd"]
    assert frame(framer, b"abcde\0") == [b"abcd"]
    assert frame(framer, b"abcd\0") == [b"abcd"]
    framer.receive(b"x" * 100_000)
    assert framer.next() is None
    assert framer.finish() == b"xxxx"


def test_stream_lines() -> None:
    framer = StreamFramer(b"\n", 1024)
    assert frame(framer, b"one\r\ntwo\n", b"three\r", b"\n") == [
        b"one",
        b"two",
        b"three",
    ]


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=False)]


@given(
    data=st.binary(max_size=200).map(lambda b: b.replace(b"\1", b"\0")),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=20),
    limit=st.integers(min_value=1, max_value=12),
    delimiter=st.sampled_from([b"\0", b"\n"]),
)
def test_any_split_same_requests(
    data: bytes, cuts: list[int], limit: int, delimiter: bytes
) -> None:
    """
    Any split of any byte stream gives the same requests, and each is what
    the definition says: the bytes between delimiters, cut to the limit,
    less the CR of a CRLF; the unfinished tail comes out at the end.
    """
    whole = StreamFramer(delimiter, limit)
    split = StreamFramer(delimiter, limit)
    expected = [*frame(whole, data), whole.finish() or b""]
    assert [*frame(split, *_split(data, cuts)), split.finish() or b""] == expected
    *complete, tail = data.split(delimiter)
    wanted = []
    for request in complete:
        request = request[:limit]
        if delimiter == b"\n" and request.endswith(b"\r"):
            request = request[:-1]
        wanted.append(request)
    assert expected == [*wanted, tail[:limit]]
