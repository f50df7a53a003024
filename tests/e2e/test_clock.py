"""
A wall clock stepped back an hour moves no timer: an idle connection is
still closed at its timeout.  The step is made with libfaketime (Debian's
libfaketime, which .ci/run installs), which moves the wall clock of the
server's process only and leaves its monotonic clock alone.
"""

import os
import socket
import time
from pathlib import Path

import pytest

from .._server import runningServer, twistdCommand

FOUND = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
LIBFAKETIME = FOUND[0] if FOUND else None


@pytest.mark.skipif(LIBFAKETIME is None, reason="needs libfaketime")
@pytest.mark.parametrize("extra", [[], ["--workers", "2"]])
def test_timeout_survives_clock_step_back(extra: list[str], tmp_path: Path) -> None:
    offset = tmp_path / "offset"
    offset.write_text("+0\n")
    env = {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    argv = twistdCommand("--port", "tcp:0:interface=127.0.0.1", "--timeout", "2")
    with runningServer([*argv, *extra], env=env) as server:
        [port] = server.listeningPorts()
        if extra:
            server.waitFor(r"worker \d \(pid \d+\) ready", count=2)
        with socket.create_connection(("127.0.0.1", port)) as idle:
            time.sleep(0.3)
            offset.write_text("-3600s\n")  # the wall clock steps back an hour
            os.utime(offset)
            # Closed at its timeout: the wait is generous for a loaded
            # machine, and far below the hour the wall clock would add.
            idle.settimeout(20)
            assert idle.recv(1) == b""
