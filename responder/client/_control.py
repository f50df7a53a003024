"""
A client of the control API for scripts and test suites: plain blocking
HTTP from the standard library, so a synchronous test or a shell needs no
reactor.
"""

import base64
import http.client
import json
import socket
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any


class ControlError(Exception):
    """
    The control API refused a request or could not be reached; the
    message is one line.
    """


class _UNIXConnection(http.client.HTTPConnection):
    """
    HTTP over a unix socket.
    """

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


@dataclass(frozen=True)
class Recorded:
    """
    One request from the journal, as C{GET /requests} lists it.
    """

    time: str
    peer: str
    data: bytes
    request: str
    outcome: str
    rule: int | None
    ruleName: str | None


class ControlClient:
    """
    Talk to a responder's control API at C{endpoint}: a port number on
    this machine, C{tcp:HOST:PORT}, C{unix:PATH}, or C{http://HOST:PORT}.

    Every method raises L{ControlError} with a one-line message for an
    answer that is not a success, or for a server that cannot be reached.
    """

    def __init__(
        self, endpoint: str, token: str | None = None, timeout: float = 10.0
    ) -> None:
        self.endpoint = endpoint
        self.token = token
        self.timeout = timeout
        self._unix: str | None = None
        if endpoint.isdigit():
            endpoint = f"tcp:127.0.0.1:{endpoint}"
        kind, _, rest = endpoint.partition(":")
        if kind == "unix":
            self._unix = rest
            self._host, self._port = "localhost", 0
        elif kind in ("tcp", "tcp6", "http"):
            where = rest.removeprefix("//").rstrip("/")
            host, _, port = where.rpartition(":")
            if not port.isdigit() or not host:
                raise ControlError(f"bad control API endpoint {self.endpoint!r}")
            self._host, self._port = host.strip("[]"), int(port)
        else:
            raise ControlError(
                f"bad control API endpoint {self.endpoint!r}: use a port, "
                "tcp:HOST:PORT, unix:PATH or http://HOST:PORT"
            )

    def call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """
        Send one request and return the body of a success.

        @raise ControlError: for an error answer (its JSON C{error}) or a
            connection that fails.
        """
        connection: http.client.HTTPConnection = (
            _UNIXConnection(self._unix, self.timeout)
            if self._unix is not None
            else http.client.HTTPConnection(
                self._host, self._port, timeout=self.timeout
            )
        )
        headers = {}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as e:
            reason = str(e) or type(e).__name__
            raise ControlError(f"{self.endpoint}: {reason}") from None
        finally:
            connection.close()
        if response.status >= 300:
            try:
                reason = json.loads(data)["error"]
            except (ValueError, KeyError, TypeError):
                reason = response.reason
            raise ControlError(f"{method} {path}: {response.status} {reason}")
        return data

    def requests(
        self,
        since: str | None = None,
        peer: str | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """
        C{GET /requests}: the journal's entries, as the API's JSON.
        """
        query = {
            key: str(value)
            for key, value in (("since", since), ("peer", peer), ("limit", limit))
            if value is not None
        }
        path = "/requests" + ("?" + urllib.parse.urlencode(query) if query else "")
        found: dict[str, Any] = json.loads(self.call("GET", path))
        return found

    def recorded(self) -> list[Recorded]:
        """
        The journal's entries, oldest first, with their exact bytes.
        """
        return [
            Recorded(
                entry["time"],
                entry["peer"],
                base64.b64decode(entry["data"]),
                entry["request"],
                entry["outcome"],
                entry["rule"],
                entry.get("rule_name"),
            )
            for entry in self.requests()["requests"]
        ]

    def clear(self) -> None:
        """
        C{DELETE /requests}: empty the journal.
        """
        self.call("DELETE", "/requests")

    def rules(self) -> str:
        """
        C{GET /rules}: the rules in force, as TOML text.
        """
        return self.call("GET", "/rules").decode("utf-8")

    def putRules(self, text: str | bytes) -> None:
        """
        C{PUT /rules}: put these rules in force; empty text for none.
        """
        body = text.encode("utf-8") if isinstance(text, str) else text
        self.call("PUT", "/rules", body)

    def reset(self) -> None:
        """
        C{POST /reset}: empty the journal and go back to the C{--rules}
        file's rules (or none).
        """
        self.call("POST", "/reset")

    def health(self) -> None:
        """
        C{GET /health}: succeed if the server answers.
        """
        self.call("GET", "/health")

    def waitForRequests(self, count: int, timeout: float = 5.0) -> list[Recorded]:
        """
        Ask every 20 ms, for up to C{timeout} seconds, until the journal
        holds C{count} requests or more; return them.

        @raise AssertionError: if they do not come in time, saying how many
            did.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.recorded()
            if len(found) >= count or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if len(found) < count:
            raise AssertionError(
                f"expected {count} requests within {timeout:g} s,"
                f" got {len(found)}: {[entry.data for entry in found]!r}"
            )
        return found
