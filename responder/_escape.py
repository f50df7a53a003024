"""
Make untrusted request bytes safe to put in a log line.

A request is whatever a client chose to send.  Written raw, a C{\\n} lets it
forge a second log line, an ESC sequence lets it repaint an operator's
terminal, and invalid UTF-8 can break a log shipper.  L{escapeRequest} turns
any byte string into printable text on one line, and the mapping is
unambiguous: a backslash in the request is itself escaped, so the text
C{\\x1b} in a log line always means the request held a literal backslash.
"""

import re

# C0 controls, DEL, C1 controls, the Unicode line and paragraph separators
# (some viewers break lines on them) and the bidirectional overrides (they
# make a line display in an order other than the one it was written in).
_CONTROL = [
    *range(0x00, 0x20),
    *range(0x7F, 0xA0),
    0x200E,
    0x200F,
    0x2028,
    0x2029,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
]
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escapeFor(codepoint: int) -> str:
    if codepoint in _NAMED:
        return _NAMED[codepoint]
    if codepoint < 0x80:
        return f"\\x{codepoint:02x}"
    return f"\\u{codepoint:04x}"


_TABLE: dict[int, str] = {c: _escapeFor(c) for c in _CONTROL}
_TABLE[ord("\\")] = "\\\\"
# Decoding with "surrogateescape" maps each invalid byte 0xNN to the lone
# surrogate U+DCNN; show it as the byte it was.
_TABLE.update({0xDC00 + b: f"\\x{b:02x}" for b in range(0x80, 0x100)})

# Printable ASCII other than the backslash: the common case, which needs no
# work beyond an ASCII decode.
_NEEDS_ESCAPING = re.compile(rb"[^\x20-\x5b\x5d-\x7e]")


def escapeRequest(request: bytes) -> str:
    """
    Return C{request} as printable, single-line text.

    Valid UTF-8 stays readable.  C{\\xNN} is always a byte: an ASCII control
    character or a byte that is not valid UTF-8.  C{\\uNNNN} is a decoded
    control or formatting character.  C{\\r}, C{\\n} and C{\\t} keep their
    usual names, and a backslash becomes two.
    """
    if _NEEDS_ESCAPING.search(request) is None:
        return request.decode("ascii")
    return request.decode("utf-8", "surrogateescape").translate(_TABLE)
