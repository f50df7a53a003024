"""
Loading rules: a file's bytes, or TOML text, become checked L{Rules}, or
a L{RulesError} that names the file and line.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from ._files import Unreadable, readFile
from ._model import Rules, RulesError
from ._validation import Validator


def loadRules(path: str | os.PathLike[str], outsideFolder: bool = False) -> Rules:
    """
    Read and check the rules file at C{path}.

    Response files are named relative to the rules file's folder, and are
    read now: loading the file again (on C{SIGHUP}) picks up changes.

    @param outsideFolder: let response and greeting files (or the symlinks
        that name them) lead outside the folder they are named from.

    @raise RulesError: if the file cannot be read, is not TOML, or breaks a
        rule; its message names the file and line.
    """
    source = os.fspath(path)
    try:
        data = readFile(Path(source))
    except Unreadable as e:
        raise RulesError(source, None, f"cannot read rules file: {e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        bad = data[e.start]
        raise RulesError(source, line, f"not UTF-8 text (byte 0x{bad:02x})") from None
    folder = Path(source).absolute().parent
    return parseRules(text, source, folder, outsideFolder=outsideFolder)


def parseRules(
    text: str,
    source: str,
    folder: Path | None = None,
    *,
    allowFiles: bool = True,
    outsideFolder: bool = False,
) -> Rules:
    """
    Check the rules file text C{text}.

    @param source: the file's name, for error messages and L{Rules.source}.
    @param folder: where relative C{response_file} and C{greeting_file}
        paths start; by default the folder of C{source}.
    @param allowFiles: whether C{response_file} and C{greeting_file} may
        read files at all.  Rules that arrive over a network must say
        C{False}: whoever sends them could otherwise read any file the
        server can.
    @param outsideFolder: see L{loadRules}.

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
    return Validator(text, source, folder, allowFiles, outsideFolder).parse(data)


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
