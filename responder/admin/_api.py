"""
The control API as one C{twisted.web} resource: a table of routes, a
token check, and answers that are JSON (or TOML, for the rules), with a
one-line error and a 4xx for anything it cannot take.
"""

import hmac
import json
from collections.abc import Callable

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ..core import ResponderFactory
from ..escaping import escapeRequest
from ..rules import RulesError
from ._http import errorBody
from ._rules import rulesFromText
from ._stream import BATCH, streamEntries
from ._view import entryView, parseFilters, selected

_Handler = Callable[["ControlAPI", Request], bytes | int]


class ControlAPI(Resource):
    """
    The control API of one factory: its journal and its rules.

    @ivar factory: the L{ResponderFactory} it reads and steers.
    @ivar token: the bearer token every request must carry, or C{None}.
    """

    isLeaf = True
    log = Logger(namespace="responder")

    def __init__(self, factory: ResponderFactory, token: bytes | None = None) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.factory = factory
        self.token = token

    def render(self, request: Request) -> bytes | int:
        """
        Check the token, find the route, and answer; every refusal is a
        4xx with a JSON body of one line.
        """
        if self.token is not None and not self._authorized(request):
            request.setHeader(b"www-authenticate", b'Bearer realm="responder"')
            return self._error(request, 401, "a valid bearer token is required")
        path = request.path
        methods = _ROUTES.get(path)
        if methods is None:
            shown = escapeRequest(path)
            return self._error(request, 404, f"no such path {shown!r}")
        method = request.method
        if method == b"HEAD" and b"GET" in methods:
            method = b"GET"
        handler = methods.get(method)
        if handler is None:
            request.setHeader(b"allow", b", ".join(sorted(methods)))
            shown = escapeRequest(request.method)
            return self._error(request, 405, f"{shown} is not allowed here")
        return handler(self, request)

    def _authorized(self, request: Request) -> bool:
        assert self.token is not None
        given = request.requestHeaders.getRawHeaders(b"authorization") or [b""]
        scheme, _, token = given[0].partition(b" ")
        # Compared in constant time, so timing tells nothing of the token.
        matches = hmac.compare_digest(token.strip(), self.token)
        return scheme.lower() == b"bearer" and matches

    def _error(self, request: Request, code: int, reason: str) -> bytes:
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        return errorBody(reason)

    def _json(self, request: Request, value: object) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(value).encode() + b"\n"

    def _noContent(self, request: Request) -> bytes:
        request.setResponseCode(204)
        return b""

    def getRequests(self, request: Request) -> bytes | int:
        try:
            filters = parseFilters(request.args or {})
        except ValueError as e:
            return self._error(request, 400, str(e))
        entries, dropped = selected(self.factory.journal, filters)
        if len(entries) <= BATCH:
            views = [entryView(entry) for entry in entries]
            return self._json(request, {"requests": views, "dropped": dropped})
        request.setHeader(b"content-type", b"application/json")
        streamEntries(request, entries, dropped, self.factory.clock)
        return NOT_DONE_YET

    def deleteRequests(self, request: Request) -> bytes:
        if self.factory.journal is not None:
            self.factory.journal.clear()
        return self._noContent(request)

    def getRules(self, request: Request) -> bytes:
        rules = self.factory.rules
        request.setHeader(b"content-type", b"application/toml; charset=utf-8")
        return b"" if rules is None else rules.text.encode("utf-8")

    def putRules(self, request: Request) -> bytes:
        assert request.content is not None
        body = request.content.read()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            line = body.count(b"\n", 0, e.start) + 1
            bad = body[e.start]
            return self._error(
                request, 400, f"rules:{line}: not UTF-8 text (byte 0x{bad:02x})"
            )
        try:
            rules = rulesFromText(text)
        except RulesError as e:
            return self._error(request, 400, str(e))
        self.factory.setRules(rules)
        count = 0 if rules is None else len(rules.rules)
        self.log.info("control API: {count} rules in force", count=count)
        return self._json(request, {"rules": count})

    def postReset(self, request: Request) -> bytes:
        self.factory.resetRules()
        if self.factory.journal is not None:
            self.factory.journal.clear()
        return self._noContent(request)

    def getHealth(self, request: Request) -> bytes:
        return self._json(request, {"status": "ok"})


_ROUTES: dict[bytes, dict[bytes, _Handler]] = {
    b"/requests": {
        b"GET": ControlAPI.getRequests,
        b"DELETE": ControlAPI.deleteRequests,
    },
    b"/rules": {b"GET": ControlAPI.getRules, b"PUT": ControlAPI.putRules},
    b"/reset": {b"POST": ControlAPI.postReset},
    b"/health": {b"GET": ControlAPI.getHealth},
}
