"""
The control channel between a pool's parent and its workers, over
in-memory transports.
"""

import json
import struct

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from responder import ResponderConfig
from responder.rules import parseRules
from responder.workers._channel import (
    ChannelLost,
    PoolControl,
    WorkerAnswers,
    WorkerChannel,
)

from ..support import Harness


def frames(data: bytes) -> list[dict[str, object]]:
    found = []
    while data:
        (size,) = struct.unpack("!I", data[:4])
        found.append(json.loads(data[4 : 4 + size]))
        data = data[4 + size :]
    return found


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return struct.pack("!I", len(body)) + body


def worker() -> tuple[Harness, WorkerAnswers, StringTransport]:
    harness = Harness(ResponderConfig(quiet=True))
    answers = WorkerAnswers(harness.factory)
    transport = StringTransport()
    answers.makeConnection(transport)
    return harness, answers, transport


def test_a_worker_answers_from_its_factory() -> None:
    harness, answers, transport = worker()
    harness.clock.advance(5)
    protocol, _ = harness.connect()
    protocol.dataReceived(b"a\xff")
    answers.dataReceived(frame({"ask": "journal"}))
    [answer] = frames(transport.value())
    assert answer == {
        "entries": [[5.0, "192.0.2.7:40000", "Yf8=", "answered", None, None]],
        "dropped": 0,
    }
    transport.clear()
    answers.dataReceived(frame({"ask": "rules", "text": "[[rule]]\nequals = 'a'\n"}))
    assert str(frames(transport.value())[0]["error"]).startswith("rules:1: rule 1:")
    text = '[[rule]]\nequals = "a"\nresponse = "b"\n'
    answers.dataReceived(frame({"ask": "rules", "text": text}))
    assert harness.factory.rules is not None and harness.factory.rules.text == text
    answers.dataReceived(frame({"ask": "clear"}))
    assert harness.factory.journal is not None and len(harness.factory.journal) == 0
    answers.dataReceived(frame({"ask": "reset"}))
    assert harness.factory.rules is None


def test_answers_fire_in_order_and_a_lost_worker_fails_them() -> None:
    channel = WorkerChannel()
    transport = StringTransport()
    channel.makeConnection(transport)
    first, second = channel.ask("journal"), channel.ask("clear")
    assert [m["ask"] for m in frames(transport.value())] == ["journal", "clear"]
    got: list[object] = []
    first.addCallback(got.append)
    channel.dataReceived(frame({"dropped": 0, "entries": []}))
    assert got == [{"dropped": 0, "entries": []}]
    second.addErrback(got.append)
    channel.connectionLost(Failure(ChannelLost()))
    assert isinstance(got[1], Failure) and got[1].check(ChannelLost)
    late: list[Failure] = []
    channel.ask("clear").addErrback(late.append)
    assert late and late[0].check(ChannelLost)


@pytest_twisted.ensureDeferred
async def test_pool_control_merges_and_fans_out() -> None:
    workers = [worker() for _ in range(2)]
    channels = []
    for number, (harness, answers, transport) in enumerate(workers):
        harness.clock.advance(10 - number)
        harness.connect()[0].dataReceived(b"w%d" % number)
        channel = WorkerChannel()
        channel.makeConnection(StringTransport())
        channels.append((channel, answers, transport))
    parent = Harness(ResponderConfig(quiet=True))
    control = PoolControl(parent.factory, lambda: [c for c, _, _ in channels])

    def deliver() -> None:
        # Each worker answers what its channel was asked.
        for channel, answers, transport in channels:
            asked = channel.transport.value()  # type: ignore[union-attr]
            channel.transport.clear()  # type: ignore[union-attr]
            answers.dataReceived(asked)
            channel.dataReceived(transport.value())
            transport.clear()

    listing = Deferred.fromCoroutine(control.entries())
    deliver()
    entries, dropped = await listing
    assert [e.data for e in entries] == [b"w1", b"w0"] and dropped == 0
    rules = parseRules('[[rule]]\nequals = "a"\nresponse = "b"\n', "rules")
    putting = Deferred.fromCoroutine(control.setRules(rules))
    deliver()
    await putting
    assert parent.factory.rules is rules
    assert all(h.factory.rules is not None for h, _, _ in workers)
    resetting = Deferred.fromCoroutine(control.reset())
    deliver()
    await resetting
    assert parent.factory.rules is None
    assert all(h.factory.rules is None for h, _, _ in workers)
    assert all(len(h.factory.journal or ()) == 0 for h, _, _ in workers)


@pytest_twisted.ensureDeferred
async def test_a_lost_worker_fails_the_question_with_its_reason() -> None:
    channel = WorkerChannel()
    channel.makeConnection(StringTransport())
    channel.connectionLost(Failure(ChannelLost()))
    control = PoolControl(Harness().factory, lambda: [channel])
    with pytest.raises(ChannelLost, match="a worker went away"):
        await control.clear()
