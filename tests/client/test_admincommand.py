"""
C{responder-client admin}: a shell script drives a test double.
"""

import json
import subprocess
from pathlib import Path

from .._server import BIN, request, runningServer, twistdCommand


def admin(
    *arguments: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "responder-client"), "admin", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        input=input,
    )


def test_every_action(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("t0k\n")
    argv = twistdCommand(
        "--port", "tcp:0:interface=127.0.0.1",
        "--admin", "tcp:0:interface=127.0.0.1",
        "--admin-token-file", str(token),
    )  # fmt: skip
    with runningServer(argv) as server:
        [port] = server.listeningPorts()
        line = server.waitFor("for the control API")[0]
        api = f"tcp:127.0.0.1:{line.rsplit(':', 1)[1].split()[0]}"
        auth = ("--token-file", str(token))
        assert admin(*auth, api, "health").stdout == "ok\n"
        rules = '[[rule]]\nequals = "A"\nresponse = "B"\n'
        done = admin(*auth, api, "put-rules", "-", input=rules)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        assert admin(*auth, api, "rules").stdout == rules
        assert request(port, b"A\0") == b"B\0"
        request(port, b"two\0")
        listed = admin(*auth, "--limit", "1", api, "requests")
        found = json.loads(listed.stdout)
        assert [e["request"] for e in found["requests"]] == ["two"]
        assert admin(*auth, api, "clear").returncode == 0
        assert json.loads(admin(*auth, api, "requests").stdout)["requests"] == []
        assert admin(*auth, api, "reset").returncode == 0
        assert admin(*auth, api, "rules").stdout == ""

        bad = tmp_path / "bad.toml"
        bad.write_text('[[rule]]\nequals = "A"\nresponse_file = "/etc/passwd"\n')
        refused = admin(*auth, api, "put-rules", str(bad))
        assert refused.returncode == 1 and refused.stdout == ""
        assert refused.stderr.startswith(
            "responder-client admin: PUT /rules: 400 rules:3: response_file is not"
        )
        assert refused.stderr.count("\n") == 1
        wrong = admin("--token", "nope", api, "health")
        assert (wrong.returncode, wrong.stderr) == (
            1,
            "responder-client admin: GET /health: 401 a valid bearer token is"
            " required\n",
        )


def test_usage_errors() -> None:
    cases = {
        (): "give an ENDPOINT and an ACTION",
        ("1", "dance"): "unknown action 'dance': use one of requests, clear,",
        ("1", "put-rules"): "put-rules takes a FILE",
        ("1", "clear", "x"): "clear takes no FILE",
        ("nowhere:1", "health"): "",
    }
    for arguments, message in cases.items():
        result = admin(*arguments)
        assert result.stderr.startswith(f"responder-client admin: {message}")
        assert result.returncode in (1, 2) and result.stderr.count("\n") == 1


def test_unreachable() -> None:
    result = admin("--timeout", "5", "unix:/nonexistent/admin.sock", "health")
    assert (result.returncode, result.stderr) == (
        1,
        "responder-client admin: unix:/nonexistent/admin.sock: [Errno 2] No such"
        " file or directory\n",
    )
