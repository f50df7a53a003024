"""
The in-process test double, in the test's own reactor (pytest-twisted).
"""

import pytest
import pytest_twisted

from responder import ResponderConfig, ask
from responder.rules import RulesError
from responder.testing import startResponder


@pytest_twisted.ensureDeferred
async def test_journal_and_rules_as_objects() -> None:
    from twisted.internet import reactor

    server = startResponder(reactor, ResponderConfig(quiet=True, keepAlive=False))
    try:
        address = f"tcp:127.0.0.1:{server.port}"
        assert await ask(reactor, address, b"one\0") == b"This is the response\0"
        server.setRules('[[rule]]\nname = "p"\nequals = "PING"\nresponse = "PONG"\n')
        assert server.rules is not None and len(server.rules.rules) == 1
        assert await ask(reactor, address, b"PING\0") == b"PONG\0"
        assert server.requests() == [b"one", b"PING"]
        assert [(e.rule, e.ruleName) for e in server.entries()] == [
            (None, None),
            (1, "p"),
        ]
        with pytest.raises(RulesError, match="rules:1: invalid TOML"):
            server.setRules("[[")
        server.reset()
        assert server.rules is None and server.requests() == []
    finally:
        await server.stop()
