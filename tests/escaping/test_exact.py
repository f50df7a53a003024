"""
L{escapeRequest} and L{escapeText}, character by character: the exact text
of every escape, the boundaries between C{\\xNN}, C{\\uNNNN} and
C{\\UNNNNNNNN}, and a round trip that proves the log names its input
unambiguously, for any bytes at all.
"""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from responder import escapeRequest
from responder.escaping import escapeText

_ESCAPE = re.compile(r"\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|U([0-9a-f]{8})|(.))")
_NAMED = {"t": b"\t", "n": b"\n", "r": b"\r", "\\": b"\\"}


def unescape(line: str) -> bytes:
    """
    The bytes an escaped log line names, read as the docs describe the
    escapes: C{\\xNN} is one byte, C{\\uNNNN} and C{\\UNNNNNNNN} a character
    (in UTF-8), the named escapes their character.  Raises for anything
    the docs do not describe, so an ambiguous escape cannot slip through.
    """
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(line):
        out += line[position : match.start()].encode("utf-8")
        byte, short, long, named = match.groups()
        if byte is not None:
            out.append(int(byte, 16))
        elif named is not None:
            out += _NAMED[named]
        else:
            out += chr(int(short or long, 16)).encode("utf-8")
        position = match.end()
    rest = line[position:]
    if "\\" in rest:
        raise ValueError(f"a lone backslash in {line!r}")
    return bytes(out + rest.encode("utf-8"))


def expectedByte(value: int) -> str:
    """
    How the docs say one byte alone is logged: ASCII printable as itself
    (the backslash doubled), C{\\t}, C{\\n}, C{\\r} by name, other ASCII
    controls and every byte from 0x80 (not valid UTF-8 alone) as C{\\xNN}.
    """
    named = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\"}
    if value in named:
        return named[value]
    if 0x20 <= value < 0x7F:
        return chr(value)
    return f"\\x{value:02x}"


class ExactTests(SynchronousTestCase):
    def test_every_single_byte(self) -> None:
        """
        Each of the 256 bytes alone is logged as exactly the text the docs
        give it.
        """
        for value in range(256):
            self.assertEqual(
                escapeRequest(bytes([value])), expectedByte(value), hex(value)
            )

    def test_every_byte_after_text(self) -> None:
        """
        The same holds off the fast path for plain ASCII: after a character
        that needs decoding.
        """
        for value in range(256):
            self.assertEqual(
                escapeRequest("é".encode() + bytes([value])),
                "é" + expectedByte(value),
                hex(value),
            )

    def test_c1_control_is_a_character_not_a_byte(self) -> None:
        """
        U+0080 (bytes C2 80) is a decoded character, C{\\u0080}; C{\\x80}
        is reserved for the raw byte 0x80.
        """
        self.assertEqual(escapeRequest("\u0080".encode()), "\\u0080")
        self.assertEqual(escapeRequest(b"\x80"), "\\x80")
        self.assertEqual(escapeRequest(b"\xff"), "\\xff")

    def test_bmp_and_astral_boundary(self) -> None:
        """
        The last character of the basic plane takes four hex digits, the
        first beyond it eight.
        """
        self.assertEqual(escapeRequest("\uffff".encode()), "\\uffff")
        self.assertEqual(escapeRequest("\U000e0001".encode()), "\\U000e0001")
        self.assertEqual(escapeText("\uffff\U00010000"), "\\uffff\U00010000")
        self.assertEqual(escapeText("\U000f0000"), "\\U000f0000")

    def test_lone_surrogates_outside_escaped_bytes(self) -> None:
        """
        Only U+DC80 to U+DCFF stand for bytes (how C{surrogateescape} keeps
        an invalid byte); other lone surrogates, which only L{escapeText}
        can meet, stay characters.
        """
        self.assertEqual(escapeText("\udc80\udcff"), "\\x80\\xff")
        self.assertEqual(escapeText("\udc7f\udd00\ud800"), "\\udc7f\\udd00\\ud800")

    def test_escape_text_keeps_backslashes(self) -> None:
        self.assertEqual(escapeText("a\\d+\n"), "a\\d+\\n")
        self.assertEqual(escapeText("plain"), "plain")


# Property tests are plain functions: Hypothesis wants one executor per
# test, and a trial TestCase makes a new instance for every run.


@given(st.binary(max_size=64))
def test_round_trip_any_bytes(data: bytes) -> None:
    """
    Every escaped line names exactly the bytes it came from: reading the
    escapes back gives the request, byte for byte.
    """
    line = escapeRequest(data)
    assert line.isprintable(), line
    assert unescape(line) == data


@given(st.text(max_size=32))
def test_round_trip_any_text(text: str) -> None:
    """
    Any text a client can send as UTF-8 comes back whole.
    """
    data = text.encode("utf-8", "surrogatepass")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return  # lone surrogates: not something a client can send
    assert unescape(escapeRequest(data)) == data


def test_unescape_refuses_a_lone_backslash() -> None:
    """
    The round trip could not tell an escaping that left backslashes alone
    if the reader accepted one.
    """
    with pytest.raises(ValueError):
        unescape("a\\")
