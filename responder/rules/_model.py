"""
The rules model: what a rule matches and what it does, and matching a
request against rules in order.  No files and no Twisted: L{Rules} is
plain data that the protocol asks for the first rule matching a request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ..escaping import escapeRequest, escapeText
from ._regex import compileRegex

Action = Literal["answer", "close", "reset", "never"]
MatchKind = Literal["equals", "prefix", "regex"]


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
    @ivar pattern: the bytes to compare, or the regular expression (run by
        RE2, in time linear in the request: see L{compileRegex}).
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
    @ivar name: what the file calls the rule (its C{name} key), for the
        request journal; C{None} if it gives none.
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
    name: str | None = None
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
            test = compileRegex(pattern)
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
    @ivar text: the TOML text they were read from, for the control API to
        show.
    """

    rules: tuple[Rule, ...] = ()
    greeting: bytes | None = None
    source: str = ""
    text: str = field(default="", repr=False, compare=False)
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
