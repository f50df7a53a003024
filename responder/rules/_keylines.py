"""
The line of each key in TOML text, which tomllib does not tell: so that
every rules error can name its line.
"""

import re
import tomllib
from bisect import bisect_right

#: A key's place in parsed TOML: C{("rule", 2, "delay")}.
KeyPath = tuple[str | int, ...]


class KeyLines:
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
        self.found: dict[KeyPath, int] = {}
        self.arrays: dict[KeyPath, int] = {}
        try:
            self.scan()
        except (IndexError, ValueError, tomllib.TOMLDecodeError):
            pass

    def lineOf(self, path: KeyPath) -> int | None:
        """
        The line where C{path}, or the nearest table holding it, is set.
        """
        for end in range(len(path), 0, -1):
            line = self.found.get(path[:end])
            if line is not None:
                return line
        return None

    def record(self, path: KeyPath, pos: int) -> None:
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
        table: KeyPath = ()
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

    def resolve(self, keys: tuple[str, ...]) -> KeyPath:
        """
        A header's keys as a path: each array of tables on the way stands
        for its last element, as in TOML.
        """
        path: KeyPath = ()
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

    def value(self, pos: int, path: KeyPath) -> int:
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
