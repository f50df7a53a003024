"""
Several responders side by side, started the way the docs say, from the
same working directory; and what C{--version} tells about the one running.
"""

import os
import subprocess
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path

from twisted.scripts._twistd_unix import ServerOptions

from responder import __version__

from .._server import BIN, request, runningServer

RESPONSE = b"This is the response\0"


def test_two_instances_in_one_directory(tmp_path: Path) -> None:
    """
    C{twistd -n responder} twice in one directory: both serve, and neither
    leaves a C{twistd.pid} there that would stop the other.
    """
    argv = [
        str(BIN / "twistd"),
        "-n",
        "responder",
        "--port",
        "tcp:0:interface=127.0.0.1",
    ]
    with ExitStack() as stack:
        servers = [stack.enter_context(runningServer(argv, cwd=tmp_path)) for _ in "ab"]
        ports = [server.listeningPorts()[0] for server in servers]
        for port in ports:
            assert request(port, b"hi\0") == RESPONSE
        assert not (tmp_path / "twistd.pid").exists()
        assert [server.stop() for server in servers] == [143, 143]


def runnerOptions(*argv: str) -> ServerOptions:
    options = ServerOptions()
    options.parseOptions([*argv, "responder"])
    return options


def test_pid_file_kept_where_asked_for() -> None:
    """
    A daemon keeps twistd's pid file, and a foreground twistd keeps one it
    was given; only a foreground twistd's default one is dropped.
    """
    assert runnerOptions("-n")["pidfile"] == ""
    assert runnerOptions()["pidfile"] == os.path.abspath("twistd.pid")
    assert runnerOptions("-n", "--pidfile", "a.pid")["pidfile"] == os.path.abspath(
        "a.pid"
    )


def test_version() -> None:
    """
    C{twistd responder --version} names responder's version, from the
    installed C{txresponder} distribution, and Twisted's.
    """
    result = subprocess.run(
        [str(BIN / "twistd"), "-n", "responder", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    expected = f"responder {version('txresponder')} (Twisted {version('twisted')})\n"
    assert result.stdout == expected
    assert __version__ == version("txresponder")
