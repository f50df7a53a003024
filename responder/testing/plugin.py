"""
The pytest plugin (entry point C{pytest11}): responder as a test double.

  - C{responder}: a responder started once per test run (in a process of
    its own, on free loopback ports read from its log) and reset before
    each test: journal emptied, rules back to those it started with.
  - C{responder_factory}: start responders with options of your own
    (C{responder_factory("--keep-alive")}); they stop after the test.

Both give a L{ResponderServer}: C{.port}, C{.requests()},
C{.set_rules(toml)}, C{.wait_for_requests(n, timeout)},
C{.assert_received(b"...")}.  The ini option C{responder_options} adds
options to the shared one.  Twisted tests can use
L{responder.testing.startResponder} in their own reactor instead.
"""

import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ._process import ResponderServer


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "responder_options",
        "More twistd responder options for the shared responder fixture.",
        default="",
    )


@pytest.fixture(scope="session")
def responder_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ResponderServer]:
    """
    The responder shared by the whole run, unreset: use C{responder}.
    """
    options = shlex.split(str(request.config.getini("responder_options")))
    logPath = tmp_path_factory.mktemp("responder") / "responder.log"
    server = ResponderServer(logPath, options)
    yield server
    server.stop()


@pytest.fixture
def responder(responder_session: ResponderServer) -> ResponderServer:
    """
    The shared responder, reset for this test.
    """
    responder_session.reset()
    return responder_session


@pytest.fixture
def responder_factory(
    tmp_path: Path,
) -> Iterator[Callable[..., ResponderServer]]:
    """
    Start responders with more C{twistd responder} options; each stops
    when the test ends.
    """
    started: list[ResponderServer] = []

    def start(*options: str) -> ResponderServer:
        server = ResponderServer(tmp_path / f"responder-{len(started)}.log", options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
