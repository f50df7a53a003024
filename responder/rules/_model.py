"""
Rules files: answer requests by what they hold, and misbehave on purpose.

A rules file (C{--rules FILE}) is TOML.  It holds an ordered list of
C{[[rule]]} tables; each matches a request by its exact bytes, a prefix or
a regular expression, and says what to do with a request it matches:
answer with its own response (text, hex, or a file's bytes, with a
configurable terminator), perhaps late or slowly, or not answer at all.
The first rule that matches wins; a request no rule matches gets the
default response.  The file may also set a greeting, sent as a client
connects, before any request.

Top-level keys (all optional; they come before the first C{[[rule]]}):

  - C{greeting} (UTF-8 text), C{greeting_hex} or C{greeting_file}: at most
    one; sent when a client connects.
  - C{greeting_terminator}: text appended to the greeting; defaults to
    C{terminator}.
  - C{terminator}: text appended to every response and the greeting that
    sets none of its own; defaults to one NUL, like the default response.
    It does not change the default response itself.

Keys of a C{[[rule]]}:

  - exactly one match key: C{equals} or C{equals_hex} (the request is
    exactly these bytes), C{prefix} or C{prefix_hex} (the request starts
    with them; C{prefix = ""} matches every request), or C{regex} (a Python
    regular expression, compiled as a bytes pattern from the UTF-8 of the
    text and searched for anywhere in the request with C{re.search}: anchor
    it with C{\\A} and C{\\Z} to match the whole request).
  - exactly one of C{response} (UTF-8 text), C{response_hex} or
    C{response_file} (a path, relative to the folder of the rules file;
    read when the rules are loaded) -- unless the rule has a C{fault}.
  - C{terminator}: text appended to the response; defaults to the
    file's C{terminator}, itself one NUL by default; C{""} for none.
  - C{delay}: seconds to wait before answering (or before closing, with
    C{fault = "close"} or C{"reset"}); 0 or more, finite.
  - C{slow = { bytes = N, interval = SECONDS }}: write the response N bytes
    at a time, one piece every C{interval} seconds.
  - C{fault}: C{"close"} (close without answering), C{"reset"} (abort the
    connection: a TCP reset) or C{"never"} (keep the connection and never
    answer).  A rule with a fault has no response, terminator or C{slow};
    C{"never"} has no C{delay} either.

Requests are matched as responder defines them: the bytes before the first
NUL (or the keep-alive delimiter), at most C{--max-request} of them.

This module is only the parsing, checking and matching; it uses no reactor.
A bad file raises L{RulesError}, whose message is one line,
C{FILE:LINE: reason}.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
import tomllib
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal, NoReturn

from ._escape import escapeRequest, escapeText

__all__ = [
    "MAX_FILE_BYTES",
    "Action",
    "MatchKind",
    "Rule",
    "Rules",
    "RulesError",
    "loadRules",
    "parseRules",
]

Action = Literal["answer", "close", "reset", "never"]
MatchKind = Literal["equals", "prefix", "regex"]

# Rules files and response files are read whole into memory: a limit keeps a
# mistaken path (a disk image, a log) from taking the server down.
MAX_FILE_BYTES = 16 * 1024 * 1024

_NUL = b"\0"
_FAULTS: dict[str, Action] = {"close": "close", "reset": "reset", "never": "never"}
_MATCH_KEYS = ("equals", "equals_hex", "prefix", "prefix_hex", "regex")
_RESPONSE_KEYS = ("response", "response_hex", "response_file")
_RULE_KEYS = frozenset(
    (*_MATCH_KEYS, *_RESPONSE_KEYS, "terminator", "delay", "slow", "fault")
)
_GREETING_KEYS = ("greeting", "greeting_hex", "greeting_file")
_TOP_KEYS = frozenset((*_GREETING_KEYS, "greeting_terminator", "terminator", "rule"))
_SLOW_KEYS = frozenset(("bytes", "interval"))

_Path = tuple[str | int, ...]


class RulesError(ValueError):
    """
    A rules file cannot be used.

    The message is one line: C{FILE:LINE: reason}, or C{FILE: reason} when
    no line is to blame (the file cannot be read).

    @ivar source: the file, as it was named.
    @ivar line: the line to blame (1 is the first), or C{None}.
    @ivar reason: what is wrong, without the file and line.
    """

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = escapeText(reason)
        where = escapeText(source) if line is None else f"{escapeText(source)}:{line}"
        super().__init__(f"{where}: {self.reason}")


@dataclass(frozen=True)
class Rule:
    """
    One rule: which requests it matches, and what to do with them.

    @ivar kind: how C{pattern} is matched: the whole request C{"equals"} it,
        the request starts with it (C{"prefix"}), or it is a regular
        expression found somewhere in the request (C{"regex"}).
    @ivar pattern: the bytes to compare, or the regular expression.
    @ivar action: C{"answer"} with C{response}; C{"close"} the connection
        without answering; C{"reset"} it (abort, so the peer sees a TCP
        reset); or C{"never"} answer and leave it open.
    @ivar response: the bytes to write, terminator included, if C{action}
        is C{"answer"}; C{None} otherwise.
    @ivar delay: seconds to wait before answering, closing or resetting.
    @ivar slowBytes: if not C{None}, write the response this many bytes at
        a time, ...
    @ivar slowInterval: ... one piece every this many seconds.
    @ivar index: the rule's place in its file, 1 for the first.
    @ivar line: the line of the file where the rule starts.
    """

    kind: MatchKind
    pattern: bytes
    action: Action = "answer"
    response: bytes | None = None
    delay: float = 0.0
    slowBytes: int | None = None
    slowInterval: float = 0.0
    index: int = 0
    line: int = 0
    _test: Callable[[bytes], object] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        test: Callable[[bytes], object]
        pattern = self.pattern
        if self.kind == "equals":
            test = pattern.__eq__
        elif self.kind == "prefix":

            def test(request: bytes) -> bool:
                return request.startswith(pattern)

        else:
            test = re.compile(pattern).search
        object.__setattr__(self, "_test", test)

    def matches(self, request: bytes) -> bool:
        """
        Whether this rule matches C{request}.
        """
        return bool(self._test(request))

    def describe(self) -> str:
        """
        Name this rule for a log line: its number, line and match.
        """
        shown = escapeRequest(self.pattern)
        return f'rule {self.index} (line {self.line}, {self.kind} "{shown}")'


@dataclass(frozen=True)
class Rules:
    """
    The rules of one file, in order, and its greeting.

    @ivar rules: the rules; the first that matches a request wins.
    @ivar greeting: bytes to send as a client connects, terminator
        included, or C{None} to send nothing until a request comes.
    @ivar source: the file the rules came from, as it was named.
    """

    rules: tuple[Rule, ...] = ()
    greeting: bytes | None = None
    source: str = ""
    _steps: tuple[Callable[[bytes], Rule | None], ...] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        # Each run of consecutive "equals" rules becomes one dictionary
        # look-up (keeping the first of equal patterns, which would win
        # anyway); every other rule is tried on its own, in order.
        steps: list[Callable[[bytes], Rule | None]] = []
        exact: dict[bytes, Rule] | None = None
        for rule in self.rules:
            if rule.kind == "equals":
                if exact is None:
                    exact = {}
                    steps.append(exact.get)
                exact.setdefault(rule.pattern, rule)
            else:
                exact = None
                steps.append(_tryRule(rule))
        object.__setattr__(self, "_steps", tuple(steps))

    def match(self, request: bytes) -> Rule | None:
        """
        The first rule that matches C{request}, or C{None} if none does
        (and the default response is the answer).
        """
        for step in self._steps:
            rule = step(request)
            if rule is not None:
                return rule
        return None


def _tryRule(rule: Rule) -> Callable[[bytes], Rule | None]:
    test = rule._test

    def step(request: bytes) -> Rule | None:
        return rule if test(request) else None

    return step


def loadRules(path: str | os.PathLike[str]) -> Rules:
    """
    Read and check the rules file at C{path}.

    Response files are named relative to the rules file's folder, and are
    read now: loading the file again (on C{SIGHUP}) picks up changes.

    @raise RulesError: if the file cannot be read, is not TOML, or breaks a
        rule; its message names the file and line.
    """
    source = os.fspath(path)
    try:
        data = _readFile(Path(source))
    except _Unreadable as e:
        raise RulesError(source, None, f"cannot read rules file: {e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        bad = data[e.start]
        raise RulesError(source, line, f"not UTF-8 text (byte 0x{bad:02x})") from None
    return parseRules(text, source, Path(source).absolute().parent)


def parseRules(text: str, source: str, folder: Path | None = None) -> Rules:
    """
    Check the rules file text C{text}.

    @param source: the file's name, for error messages and L{Rules.source}.
    @param folder: where relative C{response_file} and C{greeting_file}
        paths start; by default the folder of C{source}.

    @raise RulesError: if C{text} is not TOML or breaks a rule; its message
        names C{source} and the line.
    """
    text = text.removeprefix("\ufeff")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line, reason = _syntaxError(e, text)
        raise RulesError(source, line, f"invalid TOML: {reason}") from None
    except RecursionError:
        # tomllib parses nested arrays and tables recursively.
        raise RulesError(source, None, "invalid TOML: nested too deeply") from None
    if folder is None:
        folder = Path(source).absolute().parent
    return _Parser(text, source, folder).parse(data)


def _syntaxError(error: tomllib.TOMLDecodeError, text: str) -> tuple[int, str]:
    """
    Split tomllib's message into the line it names and the rest.
    """
    message = str(error).splitlines()[0] if str(error) else "syntax error"
    found = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", message)
    if found is not None:
        return int(found[2]), f"{found[1]} (column {found[3]})"
    lastLine = text.count("\n") + (0 if text.endswith("\n") else 1)
    return max(lastLine, 1), message


class _Unreadable(Exception):
    """
    A file cannot be read; the message says why.
    """


def _readFile(path: Path) -> bytes:
    """
    Read a regular file of at most L{MAX_FILE_BYTES}.

    It is opened without blocking, so that a FIFO or a device named by
    mistake is refused rather than waited on.

    @raise _Unreadable: if it cannot be.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise _Unreadable(e.strerror or str(e)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unreadable("not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise _Unreadable(e.strerror or str(e)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:
        raise _Unreadable(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return data


def _typeName(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    if isinstance(value, datetime):
        return "date-time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    return type(value).__name__


def _show(value: object, limit: int = 60) -> str:
    """
    C{value} for an error message: short, and on one line.
    """
    shown = repr(value)
    if len(shown) > limit:
        shown = shown[: limit - 3] + "..."
    return shown


def _described(value: object) -> str:
    if isinstance(value, list | dict):
        return _typeName(value)
    return f"{_typeName(value)} {_show(value)}"


class _Parser:
    """
    Turn the tables tomllib parsed into L{Rules}, or raise L{RulesError}
    at the line to blame.
    """

    def __init__(self, text: str, source: str, folder: Path) -> None:
        self.source = source
        self.folder = folder
        self.lines = _KeyLines(text)

    def fail(self, path: _Path, reason: str) -> NoReturn:
        raise RulesError(self.source, self.lines.lineOf(path), reason) from None

    def parse(self, data: Mapping[str, object]) -> Rules:
        self.checkKeys(data, _TOP_KEYS, (), "")
        terminator = _NUL
        if "terminator" in data:
            terminator = self.text(data, "terminator", (), "")
        greeting = self.payload(data, _GREETING_KEYS, (), "", required=False)
        if "greeting_terminator" in data:
            if greeting is None:
                self.fail(
                    ("greeting_terminator",),
                    "greeting_terminator is set but there is no greeting",
                )
            greeting += self.text(data, "greeting_terminator", (), "")
        elif greeting is not None:
            greeting += terminator
        return Rules(
            rules=self.rules(data.get("rule", []), terminator),
            greeting=greeting,
            source=self.source,
        )

    def rules(self, tables: object, terminator: bytes) -> tuple[Rule, ...]:
        if isinstance(tables, dict):
            self.fail(("rule",), "rule is one table: write [[rule]], not [rule]")
        if not isinstance(tables, list):
            self.fail(
                ("rule",),
                f"rule must be an array of [[rule]] tables, not {_described(tables)}",
            )
        rules = []
        for index, table in enumerate(tables):
            path: _Path = ("rule", index)
            if not isinstance(table, dict):
                self.fail(
                    path, f"rule {index + 1} must be a table, not {_described(table)}"
                )
            rules.append(self.rule(table, path, index + 1, terminator))
        return tuple(rules)

    def rule(
        self, table: Mapping[str, object], path: _Path, index: int, terminator: bytes
    ) -> Rule:
        what = f"rule {index}: "
        self.checkKeys(table, _RULE_KEYS, path, what)
        kind, pattern = self.matcher(table, path, what)

        action: Action = "answer"
        if "fault" in table:
            fault = self.string(table, "fault", path, what)
            if fault not in _FAULTS:
                self.fail(
                    (*path, "fault"),
                    f"{what}fault {_show(fault)} is not one of close, reset, never",
                )
            action = _FAULTS[fault]
            for key in (*_RESPONSE_KEYS, "terminator", "slow"):
                if key in table:
                    self.fail(
                        (*path, key),
                        f"{what}{key} cannot go with fault = {action!r},"
                        " which sends nothing",
                    )

        response = None
        if action == "answer":
            response = self.payload(table, _RESPONSE_KEYS, path, what, required=True)
            assert response is not None
            if "terminator" in table:
                terminator = self.text(table, "terminator", path, what)
            response += terminator

        delay = 0.0
        if "delay" in table:
            if action == "never":
                self.fail(
                    (*path, "delay"),
                    f"{what}delay cannot go with fault = 'never', which never acts",
                )
            delay = self.seconds(table["delay"], (*path, "delay"), f"{what}delay")
            if delay < 0:
                self.fail(
                    (*path, "delay"),
                    f"{what}delay must be 0 seconds or more,"
                    f" not {_show(table['delay'])}",
                )

        slowBytes, slowInterval = None, 0.0
        if "slow" in table:
            slowBytes, slowInterval = self.slow(table["slow"], (*path, "slow"), what)

        return Rule(
            kind=kind,
            pattern=pattern,
            action=action,
            response=response,
            delay=delay,
            slowBytes=slowBytes,
            slowInterval=slowInterval,
            index=index,
            line=self.lines.lineOf(path) or 0,
        )

    def matcher(
        self, table: Mapping[str, object], path: _Path, what: str
    ) -> tuple[MatchKind, bytes]:
        key = self.exactlyOne(table, _MATCH_KEYS, path, what)
        if key is None:
            self.fail(path, f"{what}needs a match key: one of {', '.join(_MATCH_KEYS)}")
        kind: MatchKind
        if key == "regex":
            pattern = self.text(table, key, path, what)
            try:
                re.compile(pattern)
            except re.error as e:
                self.fail(
                    (*path, key),
                    f"{what}regex {_show(table[key])} is not a valid regular"
                    f" expression: {e}",
                )
            return "regex", pattern
        kind = "equals" if key.startswith("equals") else "prefix"
        if key.endswith("_hex"):
            return kind, self.hex(table, key, path, what)
        return kind, self.text(table, key, path, what)

    def payload(
        self,
        table: Mapping[str, object],
        keys: tuple[str, str, str],
        path: _Path,
        what: str,
        required: bool,
    ) -> bytes | None:
        """
        The bytes given by one of C{keys}: text, hex, or a file's name.
        """
        key = self.exactlyOne(table, keys, path, what)
        if key is None:
            if required:
                self.fail(
                    path,
                    f"{what}needs a response: one of {', '.join(keys)}"
                    " (or a fault: close, reset or never)",
                )
            return None
        if key.endswith("_hex"):
            return self.hex(table, key, path, what)
        if key.endswith("_file"):
            return self.file(table, key, path, what)
        return self.text(table, key, path, what)

    def exactlyOne(
        self, table: Mapping[str, object], keys: tuple[str, ...], path: _Path, what: str
    ) -> str | None:
        given = [key for key in keys if key in table]
        if len(given) > 1:
            self.fail(
                (*path, given[1]),
                f"{what}{' and '.join(given)} cannot go together;"
                f" give one of {', '.join(keys)}",
            )
        return given[0] if given else None

    def checkKeys(
        self, table: Mapping[str, object], known: frozenset[str], path: _Path, what: str
    ) -> None:
        for key in table:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else f"expected one of {', '.join(sorted(known))}"
                )
                self.fail((*path, key), f"{what}unknown key {_show(key)}; {hint}")

    def string(
        self, table: Mapping[str, object], key: str, path: _Path, what: str
    ) -> str:
        value = table[key]
        if not isinstance(value, str):
            self.fail(
                (*path, key), f"{what}{key} must be a string, not {_described(value)}"
            )
        return value

    def text(
        self, table: Mapping[str, object], key: str, path: _Path, what: str
    ) -> bytes:
        value = self.string(table, key, path, what)
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as e:
            self.fail(
                (*path, key),
                f"{what}{key} holds {value[e.start]!r}, a lone surrogate,"
                " which is not UTF-8 text",
            )

    def hex(
        self, table: Mapping[str, object], key: str, path: _Path, what: str
    ) -> bytes:
        value = self.string(table, key, path, what)
        try:
            return bytes.fromhex(value)
        except ValueError:
            self.fail(
                (*path, key),
                f"{what}{key} {_show(value)} is not hex digits in pairs"
                " (spaces between bytes are allowed)",
            )

    def file(
        self, table: Mapping[str, object], key: str, path: _Path, what: str
    ) -> bytes:
        name = self.string(table, key, path, what)
        if not name:
            self.fail((*path, key), f"{what}{key} is empty")
        target = self.folder / name
        try:
            return _readFile(target)
        except _Unreadable as e:
            where = "" if str(target) == name else f" ({_show(str(target))})"
            self.fail((*path, key), f"{what}{key} {_show(name)}{where}: {e}")

    def seconds(self, value: object, path: _Path, what: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(
                path, f"{what} must be a number of seconds, not {_described(value)}"
            )
        try:
            seconds = float(value)
        except OverflowError:  # an integer with hundreds of digits
            seconds = math.inf
        if not math.isfinite(seconds):
            self.fail(
                path, f"{what} must be a finite number of seconds, not {_show(value)}"
            )
        return seconds

    def slow(self, value: object, path: _Path, what: str) -> tuple[int, float]:
        shape = "slow = { bytes = N, interval = SECONDS }"
        if not isinstance(value, dict):
            self.fail(
                path, f"{what}slow must be a table, {shape}, not {_described(value)}"
            )
        self.checkKeys(value, _SLOW_KEYS, path, f"{what}slow: ")
        for key in ("bytes", "interval"):
            if key not in value:
                self.fail(path, f"{what}slow needs {key}: {shape}")
        count = value["bytes"]
        if isinstance(count, bool) or not isinstance(count, int):
            self.fail(
                (*path, "bytes"),
                f"{what}slow.bytes must be a whole number, not {_described(count)}",
            )
        if count < 1:
            self.fail(
                (*path, "bytes"), f"{what}slow.bytes must be 1 or more, not {count}"
            )
        interval = self.seconds(
            value["interval"], (*path, "interval"), f"{what}slow.interval"
        )
        if interval <= 0:
            self.fail(
                (*path, "interval"),
                f"{what}slow.interval must be more than 0 seconds,"
                f" not {_show(value['interval'])}",
            )
        return count, interval


class _KeyLines:
    """
    The line of each key and table in TOML text, which tomllib does not
    tell.

    The text has already been accepted by tomllib, so this scanner only
    needs to follow valid TOML: it knows strings of the four kinds,
    comments, headers, dotted keys, arrays and inline tables, which is
    enough never to mistake text inside a string for a key.  Paths are as
    in the parsed data: C{("rule", 2, "delay")} is the C{delay} key of the
    third C{[[rule]]}.  Should it stumble anyway, the lines found so far are
    kept, and errors fall back to the line of the enclosing table.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        self.found: dict[_Path, int] = {}
        self.arrays: dict[_Path, int] = {}
        try:
            self.scan()
        except (IndexError, ValueError, tomllib.TOMLDecodeError):
            pass

    def lineOf(self, path: _Path) -> int | None:
        """
        The line where C{path}, or the nearest table holding it, is set.
        """
        for end in range(len(path), 0, -1):
            line = self.found.get(path[:end])
            if line is not None:
                return line
        return None

    def record(self, path: _Path, pos: int) -> None:
        line = bisect_right(self.newlines, pos - 1) + 1
        for end in range(1, len(path) + 1):
            self.found.setdefault(path[:end], line)

    def skipBlank(self, pos: int, newlines: bool) -> int:
        text = self.text
        while pos < len(text):
            c = text[pos]
            if c == "#":
                end = text.find("\n", pos)
                pos = len(text) if end < 0 else end
            elif c in " \t\r" or (newlines and c == "\n"):
                pos += 1
            else:
                break
        return pos

    def scan(self) -> None:
        text = self.text
        table: _Path = ()
        pos = self.skipBlank(0, True)
        while pos < len(text):
            start = pos
            if text.startswith("[[", pos):
                keys, pos = self.key(pos + 2)
                parent = self.resolve(keys[:-1])
                array = (*parent, keys[-1])
                count = self.arrays.get(array, 0)
                self.arrays[array] = count + 1
                table = (*array, count)
                pos = text.index("]]", pos) + 2
            elif text[pos] == "[":
                keys, pos = self.key(pos + 1)
                table = self.resolve(keys)
                pos = text.index("]", pos) + 1
            else:
                keys, pos = self.key(pos)
                path = (*table, *keys)
                self.record(path, start)
                pos = self.value(self.skipBlank(text.index("=", pos) + 1, False), path)
                pos = self.skipBlank(pos, True)
                continue
            self.record(table, start)
            pos = self.skipBlank(pos, True)

    def resolve(self, keys: tuple[str, ...]) -> _Path:
        """
        A header's keys as a path: each array of tables on the way stands
        for its last element, as in TOML.
        """
        path: _Path = ()
        for key in keys:
            path = (*path, key)
            count = self.arrays.get(path)
            if count is not None:
                path = (*path, count - 1)
        return path

    def key(self, pos: int) -> tuple[tuple[str, ...], int]:
        """
        Read a dotted key starting at C{pos}.
        """
        text = self.text
        keys: list[str] = []
        while True:
            pos = self.skipBlank(pos, False)
            if text[pos] in "\"'":
                end = self.string(pos)
                keys.append(tomllib.loads("k = " + text[pos:end])["k"])
                pos = end
            else:
                bare = _BARE_KEY.match(text, pos)
                if bare is None:
                    raise ValueError(pos)
                keys.append(bare[0])
                pos = bare.end()
            pos = self.skipBlank(pos, False)
            if pos < len(text) and text[pos] == ".":
                pos += 1
                continue
            return tuple(keys), pos

    def value(self, pos: int, path: _Path) -> int:
        """
        Skip the value starting at C{pos}, noting where the elements of
        arrays and the keys of inline tables are.
        """
        text = self.text
        c = text[pos]
        if c in "\"'":
            return self.string(pos)
        if c == "[":
            pos += 1
            index = 0
            while True:
                pos = self.skipBlank(pos, True)
                if text[pos] == "]":
                    return pos + 1
                self.record((*path, index), pos)
                pos = self.skipBlank(self.value(pos, (*path, index)), True)
                index += 1
                if text[pos] == ",":
                    pos += 1
        if c == "{":
            pos = self.skipBlank(pos + 1, False)
            while text[pos] != "}":
                start = pos
                keys, pos = self.key(pos)
                self.record((*path, *keys), start)
                pos = self.skipBlank(text.index("=", pos) + 1, False)
                pos = self.skipBlank(self.value(pos, (*path, *keys)), False)
                if text[pos] == ",":
                    pos = self.skipBlank(pos + 1, False)
            return pos + 1
        end = _SCALAR_END.search(text, pos)
        return len(text) if end is None else end.start()

    def string(self, pos: int) -> int:
        """
        The position just after the string starting at C{pos}.
        """
        text = self.text
        quote = text[pos]
        if text.startswith(quote * 3, pos):
            pos += 3
            while not text.startswith(quote * 3, pos):
                pos += 2 if quote == '"' and text[pos] == "\\" else 1
                if pos >= len(text):
                    raise IndexError(pos)
            pos += 3
            # A closing delimiter may be preceded by up to two quotes that
            # belong to the string.
            for _ in range(2):
                if text.startswith(quote, pos):
                    pos += 1
            return pos
        pos += 1
        while text[pos] != quote:
            pos += 2 if quote == '"' and text[pos] == "\\" else 1
        return pos + 1


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = re.compile(r"[,\]}\n#]")
