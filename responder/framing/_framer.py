"""
Request framing: bytes in, requests out, with no I/O and no Twisted.

As in h11, the connection hands over whatever bytes arrived and asks for
the next request; the answer is a request, or C{None} for "need more data".
Both framings follow the seed's C server: a request ends at the delimiter
(NUL by default), only the first C{maxRequest} bytes of a request are kept
however long it runs, and under C{--delimiter newline} a CR before the
newline is dropped, as telnet and C{nc -C} send one.
"""


def _line(request: bytes, delimiter: bytes) -> bytes:
    """
    A request that ends at a newline is a line: it ends before the CR of a
    CRLF too.
    """
    if delimiter == b"\n" and request.endswith(b"\r"):
        return request[:-1]
    return request


def firstRequest(data: bytes, delimiter: bytes, maxRequest: int) -> bytes:
    """
    The request of a one-shot connection, from the first chunk it sent: cut
    to C{maxRequest} bytes, then at the first delimiter, the order in which
    the seed's C{recv} into 1024 bytes and C{printf("%s")} cut it.  Data
    that starts with the delimiter is the empty request.
    """
    request = data[:maxRequest]
    end = request.find(delimiter)
    if end >= 0:
        return _line(request[:end], delimiter)
    return request


class StreamFramer:
    """
    Split a stream of bytes into delimited requests, for keep-alive
    connections: L{receive} what arrived, then call L{next} until it says
    it needs more.  However the stream is split into chunks, the requests
    that come out are the same.

    Memory is bounded: of a request longer than C{maxRequest}, only the
    first C{maxRequest} bytes are kept while its delimiter is awaited.
    Bytes received and not yet asked for (L{unread}) are kept whole; the
    caller bounds them by reading no more until it has asked.

    @ivar delimiter: the byte that ends each request.
    @ivar maxRequest: bytes of a request that are kept.
    """

    def __init__(self, delimiter: bytes, maxRequest: int) -> None:
        self.delimiter = delimiter
        self.maxRequest = maxRequest
        # Received bytes, of which those before _start have been framed.
        self._data = b""
        self._start = 0
        # The kept start of a request whose delimiter has not come yet.
        self._partial = bytearray()

    @property
    def unread(self) -> bool:
        """
        Whether bytes were received that L{next} has not framed yet.
        """
        return self._start < len(self._data)

    @property
    def partial(self) -> bool:
        """
        Whether a request has begun and not ended.
        """
        return bool(self._partial)

    def receive(self, data: bytes) -> None:
        """
        Add bytes that arrived.
        """
        if self._start < len(self._data):
            self._data = self._data[self._start :] + data
        else:
            self._data = data
        self._start = 0

    def next(self) -> bytes | None:
        """
        The next complete request, or C{None} if more data is needed.
        """
        data, start = self._data, self._start
        if start >= len(data):
            return None
        delimiter = self.delimiter
        end = data.find(delimiter, start)
        if end < 0:
            self._keep(data[start:] if start else data)
            self._data, self._start = b"", 0
            return None
        if self._partial:
            self._keep(data[start:end])
            request = bytes(self._partial)
            self._partial.clear()
        else:
            request = data[start : min(end, start + self.maxRequest)]
        self._start = end + 1
        return _line(request, delimiter)

    def finish(self) -> bytes | None:
        """
        The input has ended: the request it cut short, as far as it went, or
        C{None} if none had begun.  Call it once L{next} has framed
        everything.
        """
        if not self._partial:
            return None
        request = bytes(self._partial)
        self._partial.clear()
        return request

    def _keep(self, part: bytes) -> None:
        room = self.maxRequest - len(self._partial)
        if room > 0:
            self._partial += part[:room]
