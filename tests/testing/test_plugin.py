"""
The pytest plugin, as a user's test suite meets it: run with C{pytester}
in a pytest process of its own, which finds the plugin by its entry point.
"""

import re
from pathlib import Path

import pytest

SUITE = """
import socket

PORTS = set()


def send(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(data)
        answer = b""
        while chunk := client.recv(4096):
            answer += chunk
        return answer


def test_default_answer(responder):
    PORTS.add(responder.port)
    assert send(responder.port, b"hello\\0") == b"This is the response\\0"
    responder.assert_received(b"hello")


def test_each_test_starts_clean(responder):
    PORTS.add(responder.port)
    assert responder.requests() == []
    responder.set_rules('[[rule]]\\nequals = "PING"\\nresponse = "PONG"\\n')
    assert send(responder.port, b"PING\\0") == b"PONG\\0"
    assert responder.wait_for_requests(1, timeout=5) == [b"PING"]


def test_rules_are_reset_too(responder):
    PORTS.add(responder.port)
    assert send(responder.port, b"PING\\0") == b"This is the response\\0"
    assert len(PORTS) == 1, "one responder for the whole run"


def test_factory(responder_factory):
    server = responder_factory("--keep-alive", "--response", "k")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(b"a\\0b\\0")
        answer = b""
        while len(answer) < 4:
            answer += client.recv(4096)
    assert answer == b"k\\0k\\0"
    assert server.wait_for_requests(2) == [b"a", b"b"]
    assert server.recorded()[0].peer.startswith("127.0.0.1:")


def test_missing_request_fails(responder):
    responder.assert_received(b"never sent")


def test_waiting_in_vain_fails(responder):
    responder.wait_for_requests(1, timeout=0.2)
"""


def test_a_sync_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_double=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: b'never sent' was not received; got []",
            "*AssertionError: expected 1 requests within 0.2 s, got 0: []",
        ]
    )


def test_ini_options(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nresponder_options = --response 'from ini'\n")
    pytester.makepyfile(
        test_ini="""
import socket

def test_it(responder):
    with socket.create_connection(("127.0.0.1", responder.port), timeout=10) as c:
        c.sendall(b"x\\0")
        assert c.recv(100) == b"from ini\\0"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1)


def test_a_server_that_cannot_start(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nresponder_options = --max-request 0\n")
    pytester.makepyfile(test_bad="def test_it(responder):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*RuntimeError: responder did not start:", "*--max-request*"]
    )


def _docExamples() -> list[str]:
    """
    The Python examples of docs/control-api.md that are whole test files.
    """
    text = (Path(__file__).parents[2] / "docs" / "control-api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    return [block for block in blocks if "def test_" in block]


def test_the_docs_examples_pass(pytester: pytest.Pytester) -> None:
    """
    The examples of the docs page (the README section's among them) run
    as they are written.
    """
    examples = _docExamples()
    assert len(examples) == 2
    for n, example in enumerate(examples):
        pytester.makepyfile(**{f"test_example{n}": example})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=2)
