"""
The control channel of C{--workers N} with C{--admin}: the parent, which
serves the control API, asks every worker for its journal, clears it, and
puts rules in force there, so that the API answers for all workers.

Each worker has a unix socket pair with the parent; messages are JSON,
each prefixed by its length (C{Int32StringReceiver}), and the parent's
questions are answered in order, one answer each.
"""

import base64
import json
import socket
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.defer import Deferred, FirstError, gatherResults
from twisted.internet.interfaces import IReactorSocket
from twisted.internet.protocol import ServerFactory, connectionDone
from twisted.protocols.basic import Int32StringReceiver
from twisted.python.failure import Failure

from ..core import ResponderFactory
from ..journal import JournalEntry
from ..rules import Rules, RulesError, parseRules

#: Bytes of one message at most: a whole journal (at most 32 MiB of
#: requests, sent as base64) fits.
MAX_MESSAGE = 128 * 1024 * 1024


class ChannelLost(Exception):
    """
    A worker went away before it answered.
    """


class _Messages(Int32StringReceiver):
    MAX_LENGTH = MAX_MESSAGE

    def send(self, message: dict[str, Any]) -> None:
        self.sendString(json.dumps(message).encode())  # type: ignore[no-untyped-call]

    def stringReceived(self, string: bytes) -> None:
        self.received(json.loads(string))

    def received(self, message: dict[str, Any]) -> None:
        raise NotImplementedError


class WorkerChannel(_Messages):
    """
    The parent's end: each question's C{Deferred} fires with its answer.
    """

    def __init__(self) -> None:
        self._waiting: deque[Deferred[dict[str, Any]]] = deque()
        self._lost = False

    def ask(self, question: str, **arguments: Any) -> Deferred[dict[str, Any]]:
        answer: Deferred[dict[str, Any]] = Deferred()
        if self._lost:
            answer.errback(ChannelLost("a worker went away"))
            return answer
        self._waiting.append(answer)
        self.send({"ask": question, **arguments})
        return answer

    def received(self, message: dict[str, Any]) -> None:
        self._waiting.popleft().callback(message)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        super().connectionLost(reason)
        self._lost = True
        while self._waiting:
            self._waiting.popleft().errback(ChannelLost("a worker went away"))


class WorkerAnswers(_Messages):
    """
    A worker's end: answers from its factory's journal and rules.
    """

    def __init__(self, factory: ResponderFactory) -> None:
        self.factory = factory

    def received(self, message: dict[str, Any]) -> None:
        factory, journal = self.factory, self.factory.journal
        question = message["ask"]
        answer: dict[str, Any] = {}
        if question == "journal":
            entries = [] if journal is None else list(journal)
            answer["entries"] = [
                [e.time, e.peer, base64.b64encode(e.data).decode(), *e[3:]]
                for e in entries
            ]
            answer["dropped"] = 0 if journal is None else journal.dropped
        elif question == "rules":
            text = message["text"]
            try:
                factory.setRules(parseRules(text, "rules") if text.strip() else None)
            except RulesError as e:
                answer["error"] = str(e)
        elif question == "reset":
            factory.resetRules()
        if question in ("clear", "reset") and journal is not None:
            journal.clear()
        self.send(answer)


class _One(ServerFactory):
    """
    A factory of one protocol, for C{adoptStreamConnection}.
    """

    noisy = False

    def __init__(self, channel: _Messages) -> None:
        self.channel = channel

    def buildProtocol(self, addr: object) -> _Messages:
        return self.channel


def channelFactory(channel: _Messages) -> ServerFactory:
    """
    A factory that hands out C{channel}, for C{adoptStreamConnection}.
    """
    return _One(channel)


class ChannelEnds:
    """
    A new channel's two ends, made before its worker starts.

    @ivar child: the worker's end, for its C{childFDs}.
    """

    def __init__(self) -> None:
        self._parent, self.child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def open(self, reactor: IReactorSocket, factory: ResponderFactory) -> WorkerChannel:
        """
        Once the worker has started with its end: take the parent's end
        into C{reactor}, close this process's copies of both, and give the
        worker the rules put in force over the control API, if any (those
        hold for a worker started again too).
        """
        channel = WorkerChannel()
        reactor.adoptStreamConnection(
            self._parent.fileno(), socket.AF_UNIX, channelFactory(channel)
        )
        self._parent.close()
        self.child.close()
        rules = factory.rules
        if rules is not factory.fileRules:
            text = "" if rules is None else rules.text
            # A worker that dies first is started again, and told then.
            channel.ask("rules", text=text).addErrback(lambda reason: None)
        return channel


class PoolControl:
    """
    What the control API asks of a pool: every worker's journal, and rules
    put in force everywhere, each answered once every worker has.

    @ivar factory: the parent's factory, which keeps the rules in force
        (for C{GET /rules}, and for workers started again).
    """

    def __init__(
        self, factory: ResponderFactory, channels: Callable[[], Sequence[WorkerChannel]]
    ) -> None:
        self.factory = factory
        self._channels = channels

    async def _askAll(self, question: str, **arguments: Any) -> list[dict[str, Any]]:
        """
        Ask every worker; the answers, or the first failure.
        """
        try:
            return await gatherResults(
                [channel.ask(question, **arguments) for channel in self._channels()],
                consumeErrors=True,
            )
        except FirstError as e:
            e.subFailure.raiseException()
            raise

    async def entries(self) -> tuple[list[JournalEntry], int]:
        """
        Every worker's journal, merged in time order, and the drops of all.
        """
        answers = await self._askAll("journal")
        entries = [
            JournalEntry(t, peer, base64.b64decode(data), outcome, rule, name)
            for answer in answers
            for t, peer, data, outcome, rule, name in answer["entries"]
        ]
        entries.sort(key=lambda entry: entry.time)
        return entries, sum(answer["dropped"] for answer in answers)

    async def clear(self) -> None:
        await self._askAll("clear")

    async def setRules(self, rules: Rules | None) -> None:
        self.factory.setRules(rules)
        await self._askAll("rules", text="" if rules is None else rules.text)

    async def reset(self) -> None:
        self.factory.resetRules()
        await self._askAll("reset")
