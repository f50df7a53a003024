"""
Parsers for option values: text in, a checked value out, or a
C{ValueError} whose message names the text.  Both ways in (twistd options
and the tac file's environment variables) use these, so a value is checked
the same way whichever door it came in by.
"""

from collections.abc import Callable
from ipaddress import ip_network
from typing import Any, TypeVar

from ..config import Network

_T = TypeVar("_T")


def positiveInt(text: str) -> int:
    """
    Parse a whole number greater than zero.

    @raise ValueError: with a message naming C{text}.
    """
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise ValueError(f"{text!r} is not greater than zero")
    return value


positiveInt.coerceDoc = "A whole number greater than zero."  # type: ignore[attr-defined]


def countOrZero(text: str) -> int:
    """
    Parse a whole number, zero or more.

    @raise ValueError: with a message naming C{text}.
    """
    return 0 if text.strip() == "0" else positiveInt(text)


countOrZero.coerceDoc = "A whole number; 0 turns it off."  # type: ignore[attr-defined]


def positiveSeconds(text: str) -> float:
    """
    Parse a duration in seconds, greater than zero.

    @raise ValueError: with a message naming C{text}.
    """
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{text!r} is not a finite number of seconds above zero")
    return value


positiveSeconds.coerceDoc = "Seconds, greater than zero."  # type: ignore[attr-defined]


def parseNetwork(text: str) -> Network:
    """
    Parse an IPv4 or IPv6 network in CIDR notation; a bare address is a
    network of one.

    @raise ValueError: with a message naming C{text}.
    """
    try:
        return ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP network such as 10.0.0.0/8") from None


_DELIMITERS = {"nul": b"\0", "newline": b"\n"}


def parseDelimiter(text: str) -> bytes:
    """
    Parse a request delimiter: C{nul}, C{newline}, or one ASCII character.

    @raise ValueError: with a message naming C{text}.
    """
    if text.lower() in _DELIMITERS:
        return _DELIMITERS[text.lower()]
    if len(text) == 1 and text.isascii():
        return text.encode()
    raise ValueError(f"{text!r} is not nul, newline or a single ASCII character")


parseDelimiter.coerceDoc = "nul, newline, or one ASCII character."  # type: ignore[attr-defined]


def checked(name: str, parse: Callable[[str], _T], text: str) -> _T:
    """
    C{parse(text)}, with an error that names the option C{--name}.
    """
    try:
        return parse(text)
    except ValueError as e:
        raise ValueError(f"--{name}: {e}") from None


def parameter(
    name: str, default: object, doc: str, parse: Callable[[str], object]
) -> list[Any]:
    """
    An C{optParameters} row whose value is checked by C{parse}, with errors
    that name the option as well as the value.
    """

    def coerce(text: str) -> object:
        return checked(name, parse, text)

    coerce.coerceDoc = parse.coerceDoc  # type: ignore[attr-defined]
    return [name, None, default, doc, coerce]


def choice(*choices: str) -> Callable[[str], str]:
    """
    A checker for an option that takes one of C{choices}.
    """

    def check(text: str) -> str:
        if text not in choices:
            raise ValueError(f"{text!r} is not one of {', '.join(choices)}")
        return text

    check.coerceDoc = f"One of {', '.join(choices)}."  # type: ignore[attr-defined]
    return check


def utf8(text: str) -> bytes:
    """
    Encode C{text}, which came from the command line or the environment.

    @raise ValueError: if it held bytes that are not UTF-8 (Python keeps
        them as lone surrogates).
    """
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise ValueError(f"{text!r} is not valid UTF-8") from None
