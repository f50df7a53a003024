"""
Run responder as a real process, the way operators do, for the end-to-end
and hostile-client tests.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent
# The address ends the text line, or the message of a JSON line.
_LISTENING = re.compile(r"listening on ([^\s\"]+)(?:\"|$)")


class ServerProcess:
    """
    A responder process whose output is collected line by line.

    @ivar addresses: the addresses it logged as listening on, in order.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str] | None,
        preexec: Callable[[], None] | None = None,
        cwd: Path | str = REPO,
    ) -> None:
        self.process = subprocess.Popen(
            argv,
            preexec_fn=preexec,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._changed:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.process.pid

    def lines(self) -> list[str]:
        with self._changed:
            return list(self._lines)

    def output(self) -> str:
        return "\n".join(self.lines())

    def waitFor(self, pattern: str, timeout: float = 15.0, count: int = 1) -> list[str]:
        """
        Wait until C{count} output lines match the regular expression
        C{pattern}; return the matching lines.

        @raise AssertionError: on timeout or if the process exits first.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [line for line in self._lines if regex.search(line)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                exited = self.process.poll() is not None and not self._reader.is_alive()
                if remaining <= 0 or exited:
                    raise AssertionError(
                        f"no {count} lines matching {pattern!r} in output:\n"
                        + "\n".join(self._lines)
                    )
                self._changed.wait(min(remaining, 0.1))

    def listeningPorts(self, count: int = 1) -> list[int]:
        """
        Wait for C{count} "listening on" lines of the responder's own
        endpoints (not "... for metrics"); return their port numbers.
        """
        ports = []
        for line in self.waitFor(_LISTENING.pattern, count=count)[:count]:
            match = _LISTENING.search(line)
            assert match is not None
            ports.append(int(match.group(1).rsplit(":", 1)[1]))
        return ports

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """
        Send C{sig} and wait for the process to exit; return its status as
        the shell reports it (128 + signal number for a signal).
        """
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        self._reader.join(5)
        return 128 - code if code < 0 else code

    def fileDescriptors(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def rssBytes(self) -> int:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")


def request(port: int, data: bytes, host: str = "127.0.0.1") -> bytes:
    """
    Send C{data} and read until the server closes.
    """
    with socket.create_connection((host, port), timeout=10) as client:
        client.sendall(data)
        return readAll(client)


def readAll(client: socket.socket) -> bytes:
    received = b""
    while chunk := client.recv(4096):
        received += chunk
    return received


def freePort() -> int:
    """
    A TCP port on 127.0.0.1 that was free a moment ago, for programs that
    cannot be told to pick one (HAProxy, a README's commands).
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def twistdCommand(*arguments: str) -> list[str]:
    """
    C{twistd -n responder ARGUMENTS}, from the environment running the tests.
    """
    return [str(BIN / "twistd"), "--nodaemon", "--pidfile=", "responder", *arguments]


@contextmanager
def runningServer(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    preexec: Callable[[], None] | None = None,
    cwd: Path | str = REPO,
) -> Iterator[ServerProcess]:
    """
    Start C{argv} in C{cwd} (calling C{preexec} in the child before it
    runs), yield it, and make sure it is gone afterwards.
    """
    server = ServerProcess(argv, env, preexec, cwd)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(10)
