"""
Checking a parsed rules file, key by key, with an error at the line to
blame: tomllib gives the tables, L{KeyLines} the lines.

L{Validator} is long because a rules file has many keys, each with its
own checks and its own message; splitting it would scatter one idea (what
a valid file is) over several places.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import NoReturn

from ._files import Unreadable, confined, readFile
from ._keylines import KeyLines, KeyPath
from ._model import Action, MatchKind, Rule, Rules, RulesError
from ._regex import RegexError, compileRegex

_NUL = b"\0"
_FAULTS: dict[str, Action] = {"close": "close", "reset": "reset", "never": "never"}
_MATCH_KEYS = ("equals", "equals_hex", "prefix", "prefix_hex", "regex")
_RESPONSE_KEYS = ("response", "response_hex", "response_file")
_RULE_KEYS = frozenset(
    (*_MATCH_KEYS, *_RESPONSE_KEYS, "terminator", "delay", "slow", "fault", "name")
)
_GREETING_KEYS = ("greeting", "greeting_hex", "greeting_file")
_TOP_KEYS = frozenset((*_GREETING_KEYS, "greeting_terminator", "terminator", "rule"))
_SLOW_KEYS = frozenset(("bytes", "interval"))
#: Characters a rule's name may have.
_MAX_NAME = 100


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


class Validator:
    """
    Turn the tables tomllib parsed into L{Rules}, or raise L{RulesError}
    at the line to blame.
    """

    def __init__(
        self,
        text: str,
        source: str,
        folder: Path,
        allowFiles: bool = True,
        outsideFolder: bool = False,
    ) -> None:
        self.source = source
        self.folder = folder
        self.allowFiles = allowFiles
        self.outsideFolder = outsideFolder
        self.lines = KeyLines(text)

    def fail(self, path: KeyPath, reason: str) -> NoReturn:
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
            text=self.lines.text,
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
            path: KeyPath = ("rule", index)
            if not isinstance(table, dict):
                self.fail(
                    path, f"rule {index + 1} must be a table, not {_described(table)}"
                )
            rules.append(self.rule(table, path, index + 1, terminator))
        return tuple(rules)

    def rule(
        self, table: Mapping[str, object], path: KeyPath, index: int, terminator: bytes
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
            name=self.name(table, path, what) if "name" in table else None,
        )

    def matcher(
        self, table: Mapping[str, object], path: KeyPath, what: str
    ) -> tuple[MatchKind, bytes]:
        key = self.exactlyOne(table, _MATCH_KEYS, path, what)
        if key is None:
            self.fail(path, f"{what}needs a match key: one of {', '.join(_MATCH_KEYS)}")
        kind: MatchKind
        if key == "regex":
            pattern = self.text(table, key, path, what)
            try:
                compileRegex(pattern)
            except RegexError as e:
                self.fail(
                    (*path, key),
                    f"{what}regex {_show(table[key])} is not a valid regular"
                    f" expression: {e} (rules use RE2, which matches in linear"
                    " time: no backreferences or lookaround)",
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
        path: KeyPath,
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
        self,
        table: Mapping[str, object],
        keys: tuple[str, ...],
        path: KeyPath,
        what: str,
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
        self,
        table: Mapping[str, object],
        known: frozenset[str],
        path: KeyPath,
        what: str,
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

    def name(self, table: Mapping[str, object], path: KeyPath, what: str) -> str:
        # Bounded, as the request journal keeps one with each request.
        name = self.string(table, "name", path, what)
        if len(name) > _MAX_NAME:
            self.fail((*path, "name"), f"{what}name is over {_MAX_NAME} characters")
        return name

    def string(
        self, table: Mapping[str, object], key: str, path: KeyPath, what: str
    ) -> str:
        value = table[key]
        if not isinstance(value, str):
            self.fail(
                (*path, key), f"{what}{key} must be a string, not {_described(value)}"
            )
        return value

    def text(
        self, table: Mapping[str, object], key: str, path: KeyPath, what: str
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
        self, table: Mapping[str, object], key: str, path: KeyPath, what: str
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
        self, table: Mapping[str, object], key: str, path: KeyPath, what: str
    ) -> bytes:
        if not self.allowFiles:
            self.fail(
                (*path, key),
                f"{what}{key} is not allowed here: these rules may not read files",
            )
        name = self.string(table, key, path, what)
        if not name:
            self.fail((*path, key), f"{what}{key} is empty")
        target = self.folder / name
        try:
            if not self.outsideFolder:
                # A name relative to the rules file stays in its folder; an
                # absolute one, the operator's own choice, in the folder it
                # names.  Either way a symlink cannot lead elsewhere.
                named = target.parent if Path(name).is_absolute() else self.folder
                target = confined(target, named)
            return readFile(target)
        except Unreadable as e:
            where = "" if str(target) == name else f" ({_show(str(target))})"
            self.fail((*path, key), f"{what}{key} {_show(name)}{where}: {e}")

    def seconds(self, value: object, path: KeyPath, what: str) -> float:
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

    def slow(self, value: object, path: KeyPath, what: str) -> tuple[int, float]:
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
