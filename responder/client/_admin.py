"""
C{responder-client admin}: drive a responder's control API from a shell,
so a script can use responder as a test double too.
"""

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twisted.python import usage

from ..options import adminToken, positiveInt, positiveSeconds
from ._control import ControlClient, ControlError

#: What each action sends, and whether it takes an argument.
_ACTIONS = {
    "requests": "list the journal as JSON (GET /requests)",
    "clear": "empty the journal (DELETE /requests)",
    "rules": "print the rules in force (GET /rules)",
    "put-rules": "put the rules of FILE ('-': standard input) in force (PUT /rules)",
    "reset": "empty the journal and restore the --rules file (POST /reset)",
    "health": "exit 0 if the API answers (GET /health)",
}


class AdminOptions(usage.Options):
    synopsis = "responder-client admin [options] ENDPOINT ACTION [FILE]"
    longdesc = (
        "Talk to a responder's control API (twistd responder --admin) at "
        "ENDPOINT: a port number on this machine, tcp:HOST:PORT, unix:PATH or "
        "http://HOST:PORT. ACTION is one of: "
        + "; ".join(f"{name}: {doc}" for name, doc in _ACTIONS.items())
        + ". An error exits 1 with one line on stderr."
    )
    optParameters: list[list[Any]] = [
        ["token", None, None, "Bearer token the API asks for."],
        ["token-file", None, None, "File whose first line is that token."],
        ["since", None, None, "requests: only those at or after this ISO 8601 time."],
        [
            "peer",
            None,
            None,
            "requests: only those from this address or address:port.",
        ],
        ["limit", None, None, "requests: only the last N.", positiveInt],
        ["timeout", "t", 10.0, "Seconds to wait for the API.", positiveSeconds],
    ]

    def parseArgs(
        self, endpoint: str = "", action: str = "", file: str | None = None
    ) -> None:
        if not action:
            raise usage.UsageError("give an ENDPOINT and an ACTION")
        if action not in _ACTIONS:
            raise usage.UsageError(
                f"unknown action {action!r}: use one of {', '.join(_ACTIONS)}"
            )
        if (action == "put-rules") != (file is not None):
            raise usage.UsageError(
                "put-rules takes a FILE" if file is None else f"{action} takes no FILE"
            )
        self["endpoint"], self["action"], self["file"] = endpoint, action, file

    def postOptions(self) -> None:
        try:
            token = adminToken(self["token"], self["token-file"])
        except ValueError as e:
            raise usage.UsageError(str(e).replace("--admin-", "--")) from None
        self["token"] = None if token is None else token.decode("ascii")


def _ruleText(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(file).read_bytes()
    except OSError as e:
        raise ControlError(f"cannot read {file}: {e.strerror}") from None


def admin(argv: Sequence[str]) -> int:
    """
    Run C{responder-client admin ARGV}; return the exit status.
    """
    options = AdminOptions()  # type: ignore[no-untyped-call]
    try:
        options.parseOptions(list(argv))  # type: ignore[no-untyped-call]
    except usage.UsageError as e:
        print(f"responder-client admin: {e}", file=sys.stderr)
        return 2
    action = options["action"]
    try:
        client = ControlClient(
            options["endpoint"], options["token"], options["timeout"]
        )
        if action == "requests":
            found = client.requests(options["since"], options["peer"], options["limit"])
            print(json.dumps(found, indent=2))
        elif action == "clear":
            client.clear()
        elif action == "rules":
            sys.stdout.write(client.rules())
        elif action == "put-rules":
            client.putRules(_ruleText(options["file"]))
        elif action == "reset":
            client.reset()
        else:
            client.health()
            print("ok")
    except ControlError as e:
        print(f"responder-client admin: {e}", file=sys.stderr)
        return 1
    return 0
