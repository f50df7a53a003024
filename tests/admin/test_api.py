"""
The control API over an in-memory connection: every route, the token,
and bad input refused with a one-line JSON error and a 4xx.
"""

import base64
import json
from ipaddress import ip_network

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from responder import ResponderConfig
from responder.admin import BATCH, MAX_BODY, ControlAPI, QuietSite
from responder.journal import JournalEntry
from responder.rules import Rules
from responder.workers._channel import ChannelLost

from ..core.test_faults import writeRules
from ..support import Harness

RULES = '[[rule]]\nname = "ping"\nequals = "PING"\nresponse = "PONG"\n'


class API:
    """
    A control API over a L{StringTransport}, one connection per call.
    """

    def __init__(
        self, config: ResponderConfig | None = None, token: bytes | None = None
    ):
        self.harness = Harness(config)
        self.site = QuietSite(
            ControlAPI(self.harness.factory, token), reactor=self.harness.clock
        )
        self.transport = StringTransport()

    def raw(self, data: bytes) -> bytes:
        channel = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        assert channel is not None
        self.transport = StringTransport()
        channel.makeConnection(self.transport)
        channel.dataReceived(data)
        self.pump()
        value: bytes = self.transport.value()
        return value

    def pump(self, turns: int = 10_000) -> int:
        """
        Run the calls that are due, one a turn as a reactor would (a
        L{Clock} would run calls made by a due call in the same
        C{advance}), at most C{turns}; return how many ran.
        """
        clock = self.harness.clock
        for turn in range(turns):
            due = [c for c in clock.calls if c.getTime() <= clock.seconds()]
            if not due:
                return turn
            clock.calls.remove(due[0])
            due[0].func(*due[0].args, **due[0].kw)
        return turns

    def call(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}"
        head += f"Content-Length: {len(body)}\r\n\r\n" if body else "\r\n"
        response = self.raw(head.encode() + body)
        top, _, content = response.partition(b"\r\n\r\n")
        lines = top.decode().split("\r\n")
        pairs = (line.split(": ", 1) for line in lines[1:])
        fields = {name.lower(): value for name, value in pairs}
        return int(lines[0].split()[1]), fields, content

    def send(self, request: bytes) -> None:
        protocol, _ = self.harness.connect()
        protocol.dataReceived(request)


def error(body: bytes) -> str:
    found = json.loads(body)
    assert list(found) == ["error"] and "\n" not in found["error"]
    reason: str = found["error"]
    return reason


def test_requests_lists_the_journal() -> None:
    api = API()
    api.harness.clock.advance(86400)
    api.send(b"hel\x01lo")
    code, headers, body = api.call("GET", "/requests")
    assert (code, headers["content-type"]) == (200, "application/json")
    assert json.loads(body) == {
        "requests": [
            {
                "time": "1970-01-02T00:00:00.000000+00:00",
                "peer": "192.0.2.7:40000",
                "data": base64.b64encode(b"hel\x01lo").decode(),
                "request": "hel\\x01lo",
                "outcome": "answered",
                "rule": None,
                "rule_name": None,
            }
        ],
        "dropped": 0,
    }


def test_requests_filters() -> None:
    api = API()
    for i in range(5):
        api.harness.clock.advance(60)
        api.send(b"%d" % i)
    api.harness.connect(IPv4Address("TCP", "192.0.2.8", 3))[0].dataReceived(b"other")

    def listed(query: str) -> list[str]:
        code, _, body = api.call("GET", "/requests?" + query)
        assert code == 200, body
        return [
            base64.b64decode(e["data"]).decode() for e in json.loads(body)["requests"]
        ]

    assert listed("limit=2") == ["4", "other"]
    assert listed("peer=192.0.2.7") == ["0", "1", "2", "3", "4"]
    assert listed("peer=192.0.2.8:3") == ["other"]
    assert listed("since=1970-01-01T00:04:00Z") == ["3", "4", "other"]
    assert listed("since=1970-01-01T01:04:00%2B01:00&limit=1") == ["other"]


@pytest.mark.parametrize(
    "query, reason",
    [
        ("limit=0", "limit must be a whole number from 1"),
        ("limit=x", "limit must be a whole number from 1"),
        ("since=yesterday", "since 'yesterday' is not an ISO 8601 time"),
        ("peer=%ff", "peer is not UTF-8 text"),
        ("limit=1&limit=2", "limit is given 2 times"),
        ("color=red", "unknown query argument 'color'; use since, peer, limit"),
    ],
)
def test_bad_filters(query: str, reason: str) -> None:
    code, _, body = API().call("GET", "/requests?" + query)
    assert (code, error(body)) == (400, reason)


def test_dropped_and_delete() -> None:
    api = API(ResponderConfig(journal=1, quiet=True))
    api.send(b"a")
    api.send(b"b")
    assert json.loads(api.call("GET", "/requests")[2])["dropped"] == 1
    code, _, body = api.call("DELETE", "/requests")
    assert (code, body) == (204, b"")
    assert json.loads(api.call("GET", "/requests")[2]) == {"requests": [], "dropped": 0}


def test_no_journal_lists_nothing() -> None:
    api = API(ResponderConfig(journal=0))
    api.send(b"a")
    assert json.loads(api.call("GET", "/requests")[2]) == {"requests": [], "dropped": 0}
    assert api.call("DELETE", "/requests")[0] == 204


def test_put_get_and_reset_rules() -> None:
    path = writeRules('[[rule]]\nequals = "A"\nresponse = "from file"\n')
    api = API(ResponderConfig(rules=path))
    code, headers, body = api.call("GET", "/rules")
    assert (code, body) == (200, b'[[rule]]\nequals = "A"\nresponse = "from file"\n')
    assert headers["content-type"].startswith("application/toml")
    code, _, body = api.call("PUT", "/rules", RULES.encode())
    assert (code, json.loads(body)) == (200, {"rules": 1})
    assert api.call("GET", "/rules")[2] == RULES.encode()
    protocol, transport = api.harness.connect()
    protocol.dataReceived(b"PING")
    assert transport.value() == b"PONG\0"
    [entry] = json.loads(api.call("GET", "/requests")[2])["requests"]
    assert (entry["rule"], entry["rule_name"]) == (1, "ping")
    assert api.call("POST", "/reset")[:3:2] == (204, b"")
    assert api.call("GET", "/rules")[2].startswith(b'[[rule]]\nequals = "A"')
    assert json.loads(api.call("GET", "/requests")[2])["requests"] == []


def test_an_empty_body_means_no_rules() -> None:
    api = API(ResponderConfig(rules=writeRules(RULES)))
    code, _, body = api.call("PUT", "/rules")
    assert (code, json.loads(body)) == (200, {"rules": 0})
    assert api.harness.factory.rules is None
    assert api.call("GET", "/rules")[2] == b""


@pytest.mark.parametrize(
    "body, reason",
    [
        (b'[[rule]]\nequals = "A"\nresponse = ', "rules:3: invalid TOML: "),
        (b'[[rule]]\nequals = "A"\n', "rules:1: rule 1: needs a response"),
        (b'x = "\xff"', "rules:1: not UTF-8 text (byte 0xff)"),
        (
            b'[[rule]]\nequals = "A"\nresponse_file = "/etc/passwd"\n',
            "rules:3: response_file is not allowed over the control API",
        ),
        (
            b'greeting_file = "/etc/passwd"\n',
            "rules:1: greeting_file is not allowed over the control API",
        ),
        (
            b'[[rule]]\nname = 3\nequals = "A"\nresponse = "B"\n',
            "rules:2: rule 1: name",
        ),
    ],
)
def test_bad_rules_keep_the_old_ones(body: bytes, reason: str) -> None:
    api = API(ResponderConfig(rules=writeRules(RULES)))
    before = api.harness.factory.rules
    code, _, answer = api.call("PUT", "/rules", body)
    assert code == 400 and error(answer).startswith(reason), answer
    assert api.harness.factory.rules is before


def test_unknown_paths_and_methods() -> None:
    api = API()
    code, _, body = api.call("GET", "/nothing")
    assert (code, error(body)) == (404, "no such path '/nothing'")
    code, headers, body = api.call("POST", "/rules", b"x")
    assert (code, headers["allow"], error(body)) == (
        405,
        "GET, PUT",
        "POST is not allowed here",
    )
    assert api.call("GET", "/health")[0] == 200
    assert api.call("HEAD", "/health")[:3:2] == (200, b"")


def test_a_body_over_the_limit_is_refused_before_it_is_read() -> None:
    api = API()
    head = b"PUT /rules HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
    head += b"Content-Length: %d\r\n\r\n" % (MAX_BODY + 1)
    response = api.raw(head + b"x" * 1000)
    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in response
    assert api.transport.disconnecting
    assert error(response.partition(b"\r\n\r\n")[2]) == (
        f"the body is over {MAX_BODY} bytes"
    )


def test_a_chunked_body_over_the_limit_is_refused() -> None:
    api = API()
    head = b"PUT /rules HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (65536, b"#" * 65536)
    response = api.raw(head + chunk * (MAX_BODY // 65536 + 1))
    assert response.startswith(b"HTTP/1.1 413 ") and api.transport.disconnecting
    assert api.harness.factory.rules is None


def test_a_body_within_the_limit_is_taken() -> None:
    api = API()
    body = b"#" * (MAX_BODY - 1) + b"\n"
    code, _, answer = api.call("PUT", "/rules", body)
    assert (code, json.loads(answer)) == (200, {"rules": 0})


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Authorization: Bearer wrong\r\n",
        "Authorization: Basic s3cret\r\n",
        "Authorization: Bearer\r\n",
    ],
)
def test_the_token_is_required(header: str) -> None:
    api = API(token=b"s3cret")
    for method, path in (("GET", "/requests"), ("POST", "/reset"), ("GET", "/health")):
        code, headers, body = api.call(method, path, headers=header)
        assert (code, error(body)) == (401, "a valid bearer token is required")
        assert headers["www-authenticate"] == 'Bearer realm="responder"'
    code, _, _ = api.call("GET", "/health", headers="Authorization: Bearer s3cret\r\n")
    assert code == 200


def test_refusals_show_in_the_list() -> None:
    api = API(ResponderConfig(deny=(ip_network("192.0.2.0/24"),)))
    api.harness.connect()
    [entry] = json.loads(api.call("GET", "/requests")[2])["requests"]
    assert (entry["outcome"], entry["data"]) == ("refused", "")


def test_a_long_list_is_written_a_batch_per_turn() -> None:
    api = API(ResponderConfig(quiet=True))
    count = BATCH * 3 + 7
    for i in range(count):
        api.send(b"r%d\xff" % i)
    channel = api.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    assert channel is not None
    channel.makeConnection(api.transport)
    channel.dataReceived(b"GET /requests HTTP/1.1\r\nHost: x\r\n\r\n")
    assert not api.transport.value().endswith(b"}\n")
    # One turn per batch: the responder answers in between.
    protocol, transport = api.harness.connect()
    protocol.dataReceived(b"in between")
    assert transport.value() == b"This is the response\0"
    assert api.pump() == 4 + 1
    body = api.transport.value().partition(b"\r\n\r\n")[2]
    # Chunked: size lines and data alternate.
    found = json.loads(b"".join(body.split(b"\r\n")[1::2]))
    assert found["dropped"] == 0
    assert [base64.b64decode(e["data"]) for e in found["requests"]] == [
        b"r%d\xff" % i for i in range(count)
    ]


def test_a_client_that_leaves_mid_list_stops_it() -> None:
    api = API(ResponderConfig(quiet=True))
    for i in range(BATCH * 5):
        api.send(b"%d" % i)
    channel = api.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    assert channel is not None
    channel.makeConnection(api.transport)
    channel.dataReceived(b"GET /requests HTTP/1.1\r\nHost: x\r\n\r\n")
    api.pump(turns=1)
    written = len(api.transport.value())
    channel.connectionLost(Failure(ConnectionDone()))
    assert api.pump() == 0
    assert len(api.transport.value()) == written


class FakeWorkers:
    """
    Workers whose answers the test gives, when it likes.
    """

    def __init__(self) -> None:
        self.asked: list[tuple[str, Deferred[object]]] = []

    async def _ask(self, what: str) -> object:
        answer: Deferred[object] = Deferred()
        self.asked.append((what, answer))
        return await answer

    async def entries(self) -> tuple[list[JournalEntry], int]:
        return await self._ask("entries")  # type: ignore[return-value]

    async def clear(self) -> None:
        await self._ask("clear")

    async def setRules(self, rules: Rules | None) -> None:
        await self._ask("rules")

    async def reset(self) -> None:
        await self._ask("reset")


def withWorkers() -> tuple[API, FakeWorkers, Protocol]:
    """
    The API of a pool, whose workers answer when the test says so, and a
    connection to it.
    """
    api = API()
    workers = FakeWorkers()
    api.site = QuietSite(
        ControlAPI(api.harness.factory, None, workers), reactor=api.harness.clock
    )
    channel = api.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    assert channel is not None
    channel.makeConnection(api.transport)
    return api, workers, channel


def test_with_workers_the_answer_waits_for_them() -> None:
    api, workers, channel = withWorkers()
    channel.dataReceived(b"GET /requests?limit=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert api.transport.value() == b""
    [(what, answer)] = workers.asked
    entries = [
        JournalEntry(1.0, "a:1", b"one", "answered"),
        JournalEntry(2.0, "b:2", b"two", "reset", 2, "r"),
    ]
    answer.callback((entries, 3))
    body = api.transport.value().partition(b"\r\n\r\n")[2]
    found = json.loads(body.split(b"\r\n")[1])
    assert found["dropped"] == 3
    assert [(e["peer"], e["rule_name"]) for e in found["requests"]] == [("b:2", "r")]

    for method, path, body, what, code in [
        ("PUT", "/rules", RULES.encode(), "rules", 200),
        ("DELETE", "/requests", b"", "clear", 204),
        ("POST", "/reset", b"", "reset", 204),
    ]:
        api.transport = StringTransport()
        channel = api.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        assert channel is not None
        channel.makeConnection(api.transport)
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        channel.dataReceived(head.encode() + body)
        assert api.transport.value() == b""
        asked, answer = workers.asked[-1]
        assert asked == what
        answer.callback(None)
        assert api.transport.value().startswith(b"HTTP/1.1 %d " % code)


def test_workers_that_do_not_answer_make_a_503() -> None:
    api, workers, channel = withWorkers()
    channel.dataReceived(b"POST /reset HTTP/1.1\r\nHost: x\r\n\r\n")
    workers.asked[0][1].errback(ChannelLost("a worker went away"))
    response = api.transport.value()
    assert response.startswith(b"HTTP/1.1 503 ")
    assert (
        b'{"error": "the workers did not all answer: a worker went away"}' in response
    )
