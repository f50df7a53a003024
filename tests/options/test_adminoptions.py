"""
The control API's options: a token is required wherever others could
reach the API, and --journal sizes the journal.
"""

from pathlib import Path

import pytest
from twisted.internet.testing import MemoryReactorClock

from responder import ResponderConfig, configFromEnvironment, makeService
from responder.options import isLocalEndpoint

from ._support import parse


@pytest.mark.parametrize(
    "endpoint, local",
    [
        ("tcp:0:interface=127.0.0.1", True),
        ("tcp:0:interface=127.1.2.3:backlog=5", True),
        ("tcp6:0:interface=\\:\\:1", True),
        ("unix:/tmp/admin.sock", True),
        ("haproxy:tcp:0:interface=127.0.0.1", True),
        ("ssl:0:interface=127.0.0.1:privateKey=k.pem", True),
        ("tcp:0", False),
        ("tcp:8019:interface=0.0.0.0", False),
        ("tcp6:0:interface=\\:\\:", False),
        ("tcp:0:interface=192.0.2.1", False),
        ("tcp:0:interface=localhost", False),
        ("systemd:domain=INET:index=0", False),
    ],
)
def test_local_endpoints(endpoint: str, local: bool) -> None:
    assert isLocalEndpoint(endpoint) is local


def test_admin_on_loopback_needs_no_token() -> None:
    config = parse("--admin", "tcp:0:interface=127.0.0.1")
    assert config.admin == "tcp:0:interface=127.0.0.1:backlog=4096"
    assert config.adminToken is None and config.journal == 10_000


def test_admin_elsewhere_needs_a_token() -> None:
    with pytest.raises(SystemExit) as raised:
        parse("--admin", "tcp:0")
    assert str(raised.value) == (
        "responder: --admin: tcp:0:backlog=4096 is not a loopback or unix"
        " endpoint: give --admin-token or --admin-token-file, or listen on"
        " tcp:PORT:interface=127.0.0.1"
    )
    config = parse("--admin", "tcp:0", "--admin-token", "s3cret")
    assert config.adminToken == b"s3cret"
    assert "s3cret" not in repr(config)


def test_token_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_bytes(b"  t0ken \nignored\n")
    config = parse("--admin", "tcp:0", "--admin-token-file", str(path))
    assert config.adminToken == b"t0ken"


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--admin-token", "a", "--admin-token-file", "f"],
            "give --admin-token or --admin-token-file, not both",
        ),
        (["--admin-token-file", "/nonexistent/t"], "cannot read /nonexistent/t: "),
        (["--admin-token", "a b"], "the admin token must be printable ASCII"),
        (["--admin-token", ""], "the admin token must be printable ASCII"),
        (["--journal", "-1"], "--journal: '-1' is not greater than zero"),
        (["--admin", "nonsense:1"], "--admin: "),
    ],
)
def test_bad_admin_options(argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as raised:
        parse(*argv)
    text = str(raised.value)
    assert text.startswith("responder: " + message) and "\n" not in text


def test_journal_option() -> None:
    assert parse("--journal", "0").journal == 0
    assert parse("--journal", "5").journal == 5


def test_environment() -> None:
    config = configFromEnvironment(
        {"RESPONDER_ADMIN": "unix:/tmp/a.sock", "RESPONDER_JOURNAL": "7"}
    )
    assert (config.admin, config.journal) == ("unix:/tmp/a.sock:backlog=4096", 7)


def test_admin_service_listens_beside_the_responder() -> None:
    reactor = MemoryReactorClock()
    config = ResponderConfig(
        endpoints=("tcp:1984",), admin="tcp:8019:interface=127.0.0.1"
    )
    service = makeService(config, reactor)
    service.startService()
    assert [port[0] for port in reactor.tcpServers] == [1984, 8019]
    assert [address.port for address in service.addresses()] == [1984]  # type: ignore[attr-defined]
