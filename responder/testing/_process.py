"""
A responder in a process of its own, steered through its control API: the
test double for synchronous test suites.
"""

import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ..client import ControlClient, Recorded

#: The "listening on" lines: the responder's own endpoint, and the API's.
_LISTENING = re.compile(r"listening on \S+:(\d+)$")
_ADMIN = re.compile(r"listening on \S+:(\d+) for the control API$")

#: Runs twistd in the interpreter running the tests, whatever the PATH.
_TWISTD = "from twisted.scripts.twistd import run; run()"

#: On loopback only: a test double is for this machine.
LOCAL = "tcp:0:interface=127.0.0.1"


class ResponderServer:
    """
    A C{twistd -n responder} process on a free port with its control API
    on another, and helpers to ask it what it received.

    @ivar port: the port the responder listens on, as its log said.
    @ivar adminPort: the port of its control API, as its log said.
    @ivar control: a L{ControlClient} of its control API.
    @ivar logPath: the file its output goes to.
    """

    def __init__(
        self,
        logPath: Path,
        options: Sequence[str] = (),
        startTimeout: float = 30.0,
    ) -> None:
        """
        Start the process and wait, at most C{startTimeout} seconds, until
        its log names both ports.

        @param options: more C{twistd responder} options, such as
            C{["--keep-alive", "--rules", "rules.toml"]}.
        @raise RuntimeError: if it exits or does not listen in time, with
            the end of its log.
        """
        self.logPath = logPath
        argv = [sys.executable, "-c", _TWISTD, "-n", "--pidfile=", "responder"]
        argv += ["--port", LOCAL, "--admin", LOCAL, *options]
        with logPath.open("wb") as log:
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self.port, self.adminPort = self._ports(startTimeout)
        except BaseException:
            self.stop()
            raise
        self.control = ControlClient(str(self.adminPort))

    def _ports(self, timeout: float) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        while True:
            text = self.logPath.read_text("utf-8", "replace")
            port = admin = None
            for line in text.splitlines():
                if found := _ADMIN.search(line):
                    admin = admin or int(found[1])
                elif found := _LISTENING.search(line):
                    port = port or int(found[1])
            if port is not None and admin is not None:
                return port, admin
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(text.splitlines()[-10:])
                raise RuntimeError(f"responder did not start:\n{tail}")
            time.sleep(0.05)

    def requests(self) -> list[bytes]:
        """
        The exact bytes of every request in the journal, oldest first.
        """
        return [entry.data for entry in self.control.recorded()]

    def recorded(self) -> list[Recorded]:
        """
        Every request in the journal, with its peer, time, outcome and rule.
        """
        return self.control.recorded()

    def set_rules(self, toml: str) -> None:
        """
        Put these rules (TOML, as in a rules file, without files) in force.
        """
        self.control.putRules(toml)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """
        Wait until the journal holds C{count} requests; return their bytes.

        @raise AssertionError: if fewer come within C{timeout} seconds.
        """
        return [e.data for e in self.control.waitForRequests(count, timeout)]

    def assert_received(self, data: bytes) -> None:
        """
        Assert that a request of exactly these bytes was received.
        """
        received = self.requests()
        if data not in received:
            raise AssertionError(f"{data!r} was not received; got {received!r}")

    def clear(self) -> None:
        """
        Empty the journal.
        """
        self.control.clear()

    def reset(self) -> None:
        """
        Empty the journal and restore the rules it started with.
        """
        self.control.reset()

    def log(self) -> str:
        """
        Everything the process has written so far.
        """
        return self.logPath.read_text("utf-8", "replace")

    def stop(self, timeout: float = 30.0) -> None:
        """
        Stop the process (SIGTERM, then SIGKILL after C{timeout} seconds).
        """
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
