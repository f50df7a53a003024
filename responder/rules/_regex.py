"""
Rule regexes on a linear-time engine: RE2, through C{google-re2}.

Python's C{re} backtracks: C{\\A(a+)+\\Z} against thirty C{a}s and a C{!}
runs for seconds, and a rule is matched in the reactor thread, so one
request would stop every other connection.  RE2 matches in time linear in
the request, and refuses at compile time what it cannot do that way
(backreferences, lookaround): the rules file is then refused at load,
with the line.
"""

from collections.abc import Callable

import re2

#: Raw bytes, as Python's bytes patterns see them: no UTF-8 decoding, so
#: that a request that is not UTF-8 is matched like any other.  Errors go
#: into the exception, not to RE2's own log on stderr.
_OPTIONS = re2.Options()
_OPTIONS.encoding = re2.Options.Encoding.LATIN1
_OPTIONS.log_errors = False


class RegexError(ValueError):
    """
    A pattern RE2 cannot run; the message says why, in RE2's words.
    """


def _translated(pattern: bytes) -> bytes:
    """
    C{pattern} in RE2's dialect: Python's C{\\Z} (the very end of the
    request) is RE2's C{\\z}.  Everything else is passed on as it is.
    """
    out = bytearray()
    escaped = False
    for byte in pattern:
        if escaped:
            out += b"z" if byte == ord("Z") else bytes((byte,))
            escaped = False
        else:
            out.append(byte)
            escaped = byte == ord("\\")
    return bytes(out)


def compileRegex(pattern: bytes) -> Callable[[bytes], object]:
    """
    Compile C{pattern} for RE2, and return its C{search}: a match anywhere
    in the request, as C{re.search} would find it.

    @raise RegexError: if RE2 cannot run it.
    """
    try:
        compiled = re2.compile(_translated(pattern), _OPTIONS)
    except re2.error as e:
        reason = e.args[0] if e.args else b"invalid pattern"
        if isinstance(reason, bytes):
            reason = _readable(reason)
        raise RegexError(str(reason)) from None
    search: Callable[[bytes], object] = compiled.search
    return search


def _readable(message: bytes) -> str:
    """
    RE2's error message as text.  It quotes the pattern as RE2 saw it,
    byte by byte as Latin-1 characters, written out in UTF-8: undo that,
    when it gives UTF-8 text, so that the quote shows the pattern as the
    rules file wrote it.
    """
    text = message.decode("utf-8", "replace")
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text
