"""
The control API of C{--workers N}: the journal answers for every worker,
and rules put over the API reach every worker, one started again too,
before the API answers.
"""

import os
import signal

from responder.client import ControlClient

from .._server import request, runningServer, twistdCommand
from .test_workers import servedBy, startedWorkers

RULES = '[[rule]]\nname = "p"\nprefix = "PING"\nresponse = "PONG"\n'


def test_journal_and_rules_across_workers() -> None:
    argv = twistdCommand(
        "--port", "tcp:0:interface=127.0.0.1",
        "--admin", "tcp:0:interface=127.0.0.1",
        "--workers", "2",
    )  # fmt: skip
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        line = server.waitFor("for the control API")[0]
        control = ControlClient(line.rsplit(":", 1)[1].split()[0])
        pids = startedWorkers(server)

        # Requests until both workers have served some (bounded): the
        # journal lists them all, whichever worker served them.
        sent = 0
        while sent < 400:
            request(port, b"first-%d\0" % sent)
            sent += 1
            if sent % 20 == 0 and len(servedBy(server, "first", sent)) == 2:
                break
        assert len(servedBy(server, "first", sent)) == 2
        found = control.waitForRequests(sent)
        assert sorted(e.data for e in found) == sorted(
            b"first-%d" % i for i in range(sent)
        )
        assert [e.time for e in found] == sorted(e.time for e in found)

        # New rules reach every worker before the API answers.
        # Requests until both workers have answered some (bounded): which
        # worker accepts a connection is the kernel's choice.
        control.putRules(RULES)
        answers: list[bytes] = []
        while len(answers) < 400:
            answers.append(request(port, b"PINGA-%d\0" % len(answers)))
            if (
                len(answers) % 20 == 0
                and len(servedBy(server, "PINGA", len(answers))) == 2
            ):
                break
        assert set(answers) == {b"PONG\0"}
        assert len(servedBy(server, "PINGA", len(answers))) == 2

        # A worker started again gets them too.
        os.kill(pids[1], signal.SIGKILL)
        server.waitFor(r"worker 1 \(pid \d+\) ready", count=2)
        for n in range(400):
            assert request(port, b"PINGB-%d\0" % n) == b"PONG\0"
            if 1 in servedBy(server, "PINGB", n + 1):
                break
        assert 1 in servedBy(server, "PINGB", n + 1)

        control.reset()
        assert control.recorded() == []
        assert control.rules() == ""
        assert {request(port, b"PING\0") for _ in range(20)} == {
            b"This is the response\0"
        }
        log = server.output()
    assert "Traceback" not in log
