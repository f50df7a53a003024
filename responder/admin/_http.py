"""
HTTP for the control API: requests whose bodies are bounded before any of
them is read, and a site that logs no access lines.
"""

import json
from io import BytesIO
from typing import cast

from twisted.internet.interfaces import ITransport
from twisted.web import http
from twisted.web.server import Request, Site

#: Bytes a request body may have: rules sent over the API, with room for
#: long responses written in hex.
MAX_BODY = 1024 * 1024


def errorBody(reason: str) -> bytes:
    """
    The JSON body of every error: C{{"error": "one line"}}.
    """
    return json.dumps({"error": reason}).encode() + b"\n"


class BoundedRequest(Request):
    """
    A request whose body is refused with a 413 as soon as it would pass
    L{MAX_BODY}: by its C{Content-Length}, before a byte of it is read, or
    while a chunked body arrives.  C{twisted.web} would otherwise spool any
    body over 100 kB to a temporary file before a resource saw it.
    """

    _refused = False
    _received = 0

    def gotLength(self, length: int | None) -> None:
        if length is not None and length > MAX_BODY:
            self._refuse()
            return
        # Never a temporary file: the body is bounded, so memory will do.
        self.content = BytesIO()

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._received > MAX_BODY:
            self._refuse()
            return
        assert self.content is not None
        self.content.write(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if not self._refused:
            super().requestReceived(command, path, version)  # type: ignore[no-untyped-call]

    def _refuse(self) -> None:
        """
        Answer 413 and close, reading nothing more: the response is written
        straight to the connection, as the request's own machinery expects
        a whole body first.  No C{100 Continue} is sent.
        """
        self._refused = True
        self.content = BytesIO()
        self.requestHeaders.removeHeader(b"expect")
        channel = self.channel
        channel.persistent = False
        transport = cast(ITransport, channel.transport)
        body = errorBody(f"the body is over {MAX_BODY} bytes")
        transport.write(
            b"HTTP/1.1 413 Content Too Large\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        transport.loseConnection()


class QuietSite(Site):
    """
    A site for the control API: bounded requests, and no access log line
    per request (a test suite asks often).
    """

    noisy = False
    requestFactory = BoundedRequest

    def log(self, request: http.Request) -> None:
        pass
