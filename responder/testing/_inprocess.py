"""
A responder in the test's own reactor, for Twisted test suites
(pytest-twisted, trial): no process, no HTTP, its journal and rules as
objects.
"""

from dataclasses import replace

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime

from .._assembly import makeService
from ..config import ResponderConfig
from ..core import ResponderFactory, ResponderService
from ..journal import Journal, JournalEntry
from ..rules import Rules, parseRules


class InProcessResponder:
    """
    A running responder in this process.

    @ivar service: the L{ResponderService}.
    @ivar factory: its L{ResponderFactory}.
    @ivar port: the port it listens on.
    """

    def __init__(self, service: ResponderService) -> None:
        self.service = service
        self.factory: ResponderFactory = service.factory
        self.port: int = service.addresses()[0].port  # type: ignore[attr-defined]

    @property
    def journal(self) -> Journal:
        """
        The request journal.
        """
        assert self.factory.journal is not None, "started with journal=0"
        return self.factory.journal

    def entries(self) -> list[JournalEntry]:
        """
        The journal's entries, oldest first.
        """
        return list(self.journal)

    def requests(self) -> list[bytes]:
        """
        The exact bytes of every request in the journal, oldest first.
        """
        return [entry.data for entry in self.journal]

    @property
    def rules(self) -> Rules | None:
        """
        The rules in force.
        """
        return self.factory.rules

    def setRules(self, toml: str) -> None:
        """
        Put these rules (TOML, as in a rules file) in force; empty text for
        none.

        @raise responder.rules.RulesError: if they are bad.
        """
        self.factory.setRules(parseRules(toml, "rules") if toml.strip() else None)

    def reset(self) -> None:
        """
        Empty the journal and restore the rules it started with.
        """
        self.factory.resetRules()
        self.journal.clear()

    def stop(self) -> Deferred[None]:
        """
        Stop listening and close open connections (after the configured
        drain); the C{Deferred} fires when done.
        """
        stopped: Deferred[None] = self.service.stopService()
        return stopped


def startResponder(
    reactor: IReactorTime, config: ResponderConfig | None = None
) -> InProcessResponder:
    """
    Start a responder in C{reactor} on a free loopback port, with
    C{config}'s settings but its endpoints; stop it with
    L{InProcessResponder.stop}.
    """
    config = replace(
        config or ResponderConfig(),
        endpoints=("tcp:0:interface=127.0.0.1",),
        workers=1,
        admin=None,
        metrics=None,
    )
    service = makeService(config, reactor)
    assert isinstance(service, ResponderService)
    service.startService()
    return InProcessResponder(service)
