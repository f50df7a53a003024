"""
Rules that arrive over the control API: TOML text checked as a rules file
is, except that it may not name files to read.
"""

import tomllib

from ..rules import KeyLines, Rules, RulesError, parseRules

#: Where rules sent over the API are said to come from, in their errors.
SOURCE = "rules"

#: Keys that read a file: refused over the API, or anyone who reaches it
#: could serve any file the server can read.
_FILE_KEYS = ("greeting_file", "response_file")


def rulesFromText(text: str) -> Rules | None:
    """
    Check the rules C{text} sent over the API; C{None} for empty text (no
    rules: the default response answers every request).

    @raise RulesError: its message is one line, C{rules:LINE: reason}.
    """
    if not text.strip():
        return None
    _refuseFiles(text)
    return parseRules(text, SOURCE)


def _refuseFiles(text: str) -> None:
    """
    Refuse C{greeting_file} and C{response_file}, before anything reads
    them.  Text that is not TOML is left for L{parseRules} to explain.
    """
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except (tomllib.TOMLDecodeError, RecursionError):
        return
    found: list[tuple[str | int, ...]] = [(k,) for k in _FILE_KEYS if k in data]
    tables = data.get("rule", [])
    if isinstance(tables, list):
        for index, table in enumerate(tables):
            if isinstance(table, dict):
                found += [("rule", index, k) for k in _FILE_KEYS if k in table]
    if found:
        path = found[0]
        raise RulesError(
            SOURCE,
            KeyLines(text).lineOf(path),
            f"{path[-1]} is not allowed over the control API (it would read"
            " a file on the server); send the bytes with response or"
            " response_hex",
        )
