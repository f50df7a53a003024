"""
The factory journals every request with its outcome and rule, and every
refused connection; the rules it serves can be replaced and reset.
"""

import time
from ipaddress import ip_network

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from responder import ResponderConfig, ResponderFactory, ResponderStats
from responder.rules import parseRules

from ..support import PEER, Harness
from .test_faults import writeRules

RULES = """
[[rule]]
name = "ping"
equals = "PING"
response = "PONG"

[[rule]]
equals = "RESET"
fault = "reset"
"""


def test_answered_requests_are_journaled_with_time_and_peer() -> None:
    harness = Harness()
    harness.clock.advance(1000.5)
    protocol, _ = harness.connect()
    protocol.dataReceived(b"hel\xfflo\0tail")
    journal = harness.factory.journal
    assert journal is not None
    [entry] = list(journal)
    assert entry == (1000.5, "192.0.2.7:40000", b"hel\xfflo", "answered", None, None)


def test_rules_are_journaled_by_index_and_name() -> None:
    harness = Harness(ResponderConfig(rules=writeRules(RULES)))
    harness.clock.advance(77.0)
    for request in (b"PING", b"RESET", b"other"):
        protocol, _ = harness.connect()
        protocol.dataReceived(request)
    assert harness.factory.journal is not None
    assert [(e.outcome, e.rule, e.ruleName) for e in harness.factory.journal] == [
        ("answered", 1, "ping"),
        ("reset", 2, None),
        ("answered", None, None),
    ]
    assert {e.time for e in harness.factory.journal} == {77.0}
    assert [e.data for e in harness.factory.journal] == [b"PING", b"RESET", b"other"]


def test_journal_time_is_the_wall_clock() -> None:
    """
    Entries carry wall-clock time, whatever clock the reactor keeps.
    """
    factory = ResponderFactory(ResponderConfig(quiet=True), clock=Clock())
    protocol = factory.buildProtocol(PEER)
    assert protocol is not None
    protocol.makeConnection(StringTransport(peerAddress=PEER))
    protocol.dataReceived(b"x\0")
    assert factory.journal is not None
    [entry] = list(factory.journal)
    assert abs(entry.time - time.time()) < 60


def test_given_stats_are_kept() -> None:
    stats = ResponderStats()
    assert (
        ResponderFactory(ResponderConfig(), clock=Clock(), stats=stats).stats is stats
    )


def test_refusals_are_journaled() -> None:
    harness = Harness(ResponderConfig(deny=(ip_network("192.0.2.0/24"),)))
    harness.connect()
    assert harness.factory.journal is not None
    [entry] = list(harness.factory.journal)
    assert (entry.peer, entry.data, entry.outcome) == (
        "192.0.2.7:40000",
        b"",
        "refused",
    )


def test_journal_zero_keeps_none_and_quiet_still_journals() -> None:
    assert Harness(ResponderConfig(journal=0)).factory.journal is None
    logging = Harness(ResponderConfig(journal=0))
    protocol, _ = logging.connect()
    protocol.dataReceived(b"still logged\0")
    assert logging.logged() == ["192.0.2.7:40000 still logged"]
    harness = Harness(ResponderConfig(quiet=True))
    protocol, _ = harness.connect(IPv4Address("TCP", "127.0.0.1", 5))
    protocol.dataReceived(b"x")
    assert harness.factory.journal is not None
    assert [e.peer for e in harness.factory.journal] == ["127.0.0.1:5"]


def test_journal_is_bounded_by_the_option() -> None:
    harness = Harness(ResponderConfig(journal=2, quiet=True))
    for i in range(5):
        protocol, _ = harness.connect()
        protocol.dataReceived(b"%d" % i)
    journal = harness.factory.journal
    assert journal is not None
    assert [e.data for e in journal] == [b"3", b"4"] and journal.dropped == 3


def test_set_and_reset_rules() -> None:
    harness = Harness(ResponderConfig(rules=writeRules(RULES)))
    factory = harness.factory
    started = factory.rules
    factory.setRules(parseRules('[[rule]]\nequals = "PING"\nresponse = "NEW"', "x"))
    protocol, transport = harness.connect()
    protocol.dataReceived(b"PING")
    assert transport.value() == b"NEW\0"
    factory.resetRules()
    assert factory.rules is started
    factory.setRules(None)
    protocol, transport = harness.connect()
    protocol.dataReceived(b"PING")
    assert transport.value() == b"This is the response\0"


def test_reload_changes_what_reset_restores() -> None:
    path = writeRules(RULES)
    harness = Harness(ResponderConfig(rules=path))
    with open(path, "w") as f:
        f.write('[[rule]]\nequals = "A"\nresponse = "B"\n')
    harness.factory.reloadRules()
    harness.factory.setRules(None)
    harness.factory.resetRules()
    assert harness.factory.rules is not None
    assert harness.factory.rules.text.startswith('[[rule]]\nequals = "A"')
