"""
The control API as one C{twisted.web} resource: a table of routes, a
token check, and answers that are JSON (or TOML, for the rules), with a
one-line error and a 4xx for anything it cannot take.
"""

import hmac
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from ..core import ResponderFactory
from ..escaping import escapeRequest
from ..journal import JournalEntry
from ..rules import Rules, RulesError
from ._http import errorBody
from ._rules import rulesFromText
from ._stream import BATCH, streamEntries
from ._view import Filters, entryView, parseFilters, selected

_Handler = Callable[["ControlAPI", Request], bytes | int]


class Workers(Protocol):
    """
    What the API asks of the workers of C{--workers N}, which serve while
    this process only listens: each answers once every worker has done it.
    """

    async def entries(self) -> tuple[list[JournalEntry], int]:
        """
        Every worker's journal, in time order, and the drops of all.
        """

    async def clear(self) -> None:
        """
        Empty every worker's journal.
        """

    async def setRules(self, rules: Rules | None) -> None:
        """
        Put C{rules} in force in every worker (and keep them here).
        """

    async def reset(self) -> None:
        """
        Empty the journals and restore the rules file's rules everywhere.
        """


class ControlAPI(Resource):
    """
    The control API of one factory: its journal and its rules.

    @ivar factory: the L{ResponderFactory} it reads and steers.
    @ivar token: the bearer token every request must carry, or C{None}.
    """

    isLeaf = True
    log = Logger(namespace="responder")

    def __init__(
        self,
        factory: ResponderFactory,
        token: bytes | None = None,
        workers: "Workers | None" = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.factory = factory
        self.token = token
        self.workers = workers

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
        if self.workers is not None:
            return self._later(request, self._listWorkers(request, filters))
        journal = self.factory.journal
        if journal is None:
            return self._list(request, [], 0)
        return self._list(request, selected(journal, filters), journal.dropped)

    async def _listWorkers(self, request: Request, filters: Filters) -> bytes | None:
        assert self.workers is not None
        entries, dropped = await self.workers.entries()
        body = self._list(request, selected(entries, filters), dropped)
        return None if isinstance(body, int) else body

    def _list(
        self, request: Request, entries: list[JournalEntry], dropped: int
    ) -> bytes | int:
        if len(entries) <= BATCH:
            views = [entryView(entry) for entry in entries]
            return self._json(request, {"requests": views, "dropped": dropped})
        request.setHeader(b"content-type", b"application/json")
        streamEntries(request, entries, dropped, self.factory.clock)
        return NOT_DONE_YET

    def deleteRequests(self, request: Request) -> bytes | int:
        if self.workers is not None:
            return self._later(request, self._whenDone(request, self.workers.clear()))
        if self.factory.journal is not None:
            self.factory.journal.clear()
        return self._noContent(request)

    def getRules(self, request: Request) -> bytes:
        rules = self.factory.rules
        request.setHeader(b"content-type", b"application/toml; charset=utf-8")
        return b"" if rules is None else rules.text.encode("utf-8")

    def putRules(self, request: Request) -> bytes | int:
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
        count = 0 if rules is None else len(rules.rules)
        self.log.info("control API: {count} rules in force", count=count)
        answer = self._json(request, {"rules": count})
        if self.workers is not None:
            done = self._whenDone(request, self.workers.setRules(rules), answer)
            return self._later(request, done)
        self.factory.setRules(rules)
        return answer

    def postReset(self, request: Request) -> bytes | int:
        if self.workers is not None:
            return self._later(request, self._whenDone(request, self.workers.reset()))
        self.factory.resetRules()
        if self.factory.journal is not None:
            self.factory.journal.clear()
        return self._noContent(request)

    async def _whenDone(
        self, request: Request, work: Awaitable[None], answer: bytes | None = None
    ) -> bytes:
        """
        Wait for every worker to have done C{work}; then C{answer}, or no
        content.
        """
        await work
        return self._noContent(request) if answer is None else answer

    def _later(self, request: Request, work: Coroutine[Any, Any, bytes | None]) -> int:
        """
        Answer once C{work}, which asks the workers, gives the body (or
        C{None}, having written the answer itself); a worker that cannot
        answer (one that has just died, say) makes a 503.
        """
        gone: list[Failure] = []
        request.notifyFinish().addErrback(gone.append)

        def answer(body: bytes | None) -> None:
            if body is not None and not gone:
                request.write(body)
                request.finish()

        def failed(reason: Failure) -> None:
            if not gone:
                why = f"the workers did not all answer: {reason.getErrorMessage()}"
                request.write(self._error(request, 503, why))
                request.finish()

        Deferred.fromCoroutine(work).addCallbacks(answer, failed)
        return NOT_DONE_YET

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
