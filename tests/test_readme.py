"""
The README's promises: it opens with the two commands, and its quick starts
work as written: the shell snippets run against servers on free ports (with
C{.venv/bin} on C{PATH}, as after C{. .venv/bin/activate}), the HAProxy
configuration checks a real responder, and the embedding example prints
what the README says it prints.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path

import pytest

from ._server import BIN, freePort, request, runningServer

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
# The ports the README's examples use, each replaced by a free one.
PORTS = ("1984", "9100", "8080")
# A command, then what it should do: "# prints: TEXT" or "# exits N".
_EXPECTATION = re.compile(r"#\s*(?:prints: (?P<prints>.*?)|exits (?P<exits>\d+)\b.*)$")


def codeBlockAfter(marker: str) -> str:
    """
    The first fenced code block after C{marker}.
    """
    start = README.index(marker)
    match = re.compile(r"```[a-z]*\n(.*?)```", re.DOTALL).search(README, start)
    assert match is not None
    return match.group(1)


def withFreePorts(text: str) -> tuple[str, Mapping[str, int]]:
    """
    C{text} with each of the README's example ports replaced by a free one.
    """
    ports = {port: freePort() for port in PORTS}
    for port, free in ports.items():
        text = re.sub(rf"\b{port}\b", str(free), text)
    return text, ports


def runSnippet(block: str, cwd: Path) -> list[str]:
    """
    Run a README shell block line by line, as a user pastes it: a line
    ending in C{&} starts a server (its output collected; the next line
    waits until it listens), any other line must exit as its comment says
    (0 unless C{# exits N}) and print what its C{# prints:} comment says;
    C{kill %1} stops the server, which must exit as after SIGTERM.  Lines
    whose program is not installed here are left out.

    @return: each background server's output, after stopping it.
    """
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    with ExitStack() as stack:
        servers = []
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if not command or command.startswith("#") or command == "kill %1":
                # kill %1 stops the background server, as below.
                continue
            if shutil.which(command.split()[0], path=env["PATH"]) is None:
                continue
            if command.endswith("&"):
                argv = ["bash", "-c", "exec " + command.removesuffix("&")]
                server = stack.enter_context(runningServer(argv, env, cwd=cwd))
                server.listeningPorts()
                servers.append(server)
                continue
            result = subprocess.run(
                ["bash", "-c", command],
                capture_output=True, text=True, timeout=60, cwd=cwd, env=env,
            )  # fmt: skip
            expected = _EXPECTATION.search(line)
            exits = int(expected["exits"]) if expected and expected["exits"] else 0
            assert result.returncode == exits, (line, result.stderr)
            if expected and expected["prints"] is not None:
                assert result.stdout == expected["prints"] + "\n", line
        for server in servers:
            assert server.stop() == 128 + signal.SIGTERM
        return [server.output() for server in servers]


def test_opens_with_two_commands() -> None:
    first = codeBlockAfter("# responder")
    commands = [line.split("#")[0].strip() for line in first.splitlines()]
    assert commands == ["make serve", "make test"]


def test_health_check_quick_start(tmp_path: Path) -> None:
    """
    The connect-only check is counted as a probe and not logged; the
    request is logged.
    """
    block, _ = withFreePorts(codeBlockAfter("<!-- quick start: health check"))
    [output] = runSnippet(block, tmp_path)
    requests = re.findall(r"\[responder#info\] 127\.0\.0\.1:\d+ (.*)$", output, re.M)
    assert requests == ["hello"]


def test_test_double_quick_start(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text(codeBlockAfter("<!-- rules example"))
    block, _ = withFreePorts(codeBlockAfter("<!-- quick start: test double"))
    [output] = runSnippet(block, tmp_path)
    assert re.search(r"\(reset\) RESET$", output, re.M), output
    assert "loaded 3 rules from " in output


@pytest.mark.skipif(
    shutil.which("haproxy") is None,
    reason="haproxy is not installed (Debian package haproxy)",
)
def test_haproxy_example(tmp_path: Path) -> None:
    """
    HAProxy runs with the README's configuration: its C{tcp-check} backend's
    checks reach responder as empty requests and get their answer (HAProxy
    logs no failed check), and traffic through the frontend is answered.
    """
    configuration, ports = withFreePorts(codeBlockAfter("<!-- haproxy example"))
    config = tmp_path / "haproxy.cfg"
    config.write_text(configuration)
    argv = [str(BIN / "twistd"), "-n", "responder", "--port", str(ports["1984"])]
    with runningServer(argv, cwd=tmp_path) as server:
        server.listeningPorts()
        haproxy = ["haproxy", "-db", "-f", str(config)]
        with runningServer(haproxy, cwd=tmp_path) as proxy:
            server.waitFor(r"\[responder#info\] 127\.0\.0\.1:\d+ $", timeout=20)
            deadline = time.monotonic() + 20
            while True:
                try:
                    answer = request(ports["8080"], b"through\0")
                    break
                except ConnectionRefusedError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            assert answer == b"This is the response\0"
            server.waitFor(r" through$")
        assert "DOWN" not in proxy.output()
        assert server.stop() == 128 + signal.SIGTERM


def test_embedding_example(tmp_path: Path) -> None:
    example = tmp_path / "embedding.py"
    example.write_text(codeBlockAfter("<!-- embedding example"))
    result = subprocess.run(
        [sys.executable, str(example)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == codeBlockAfter("It prints:")
