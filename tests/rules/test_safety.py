"""
Rules that cannot freeze the server or leak what it can read: regexes on a
linear-time engine, refused at load when it cannot run them, and files
that stay where the rules file put them.
"""

import os
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from responder.rules import Rule, RulesError, loadRules, parseRules

from .test_rules import makeFolder, rule


class RegexEngineTests(SynchronousTestCase):
    """
    Regexes run on RE2: what backtracks in Python's C{re} is linear there,
    and what RE2 cannot do is an error at load, with the line.
    """

    def test_backtracking_pattern_is_linear(self) -> None:
        """
        C{\\A(a+)+\\Z}, which backtracks exponentially in Python's C{re}
        (about 2**N steps for N C{a}s and a C{!}), keeps its meaning on RE2:
        C{\\Z} is the very end of the request.  (How long each engine takes
        is measured in the closing note of issue 12, not asserted here.)
        """
        found = Rule("regex", rb"\A(a+)+\Z")
        self.assertTrue(found.matches(b"a" * 30))
        self.assertFalse(found.matches(b"a" * 16 + b"!"))
        self.assertFalse(found.matches(b"a" * 16 + b"\n"))

    def test_escaped_backslash_before_Z(self) -> None:
        """
        Only an escape C{\\Z} means the end: C{\\\\Z} is a backslash and a Z.
        """
        found = Rule("regex", rb"\\Z\Z")
        self.assertTrue(found.matches(b"x\\Z"))
        self.assertFalse(found.matches(b"xZ"))

    def test_raw_bytes(self) -> None:
        """
        Patterns and requests are bytes, not UTF-8: C{.} matches one byte,
        and a request that is not UTF-8 is matched like any other.
        """
        found = Rule("regex", b"\\A\xc3\xa9.\\z")
        self.assertTrue(found.matches(b"\xc3\xa9\xff"))
        self.assertFalse(found.matches(b"\xc3\xa9\xc3\xa9"))

    def test_refused_at_load_with_the_line(self) -> None:
        """
        Backreferences and lookaround cannot run in linear time: the rules
        file is refused, naming the line of the regex.
        """
        for pattern in (r"(a)\1", "(?=a)b", "(?<!a)b"):
            text = 'greeting = "hi"\n' + rule(f"regex = '{pattern}'")
            with self.assertRaises(RulesError) as caught:
                parseRules(text, "rules.toml", Path("."))
            error = caught.exception
            self.assertEqual(error.line, 3, pattern)
            self.assertIn("is not a valid regular expression", str(error))
            self.assertIn("RE2", str(error))


class FileTests(SynchronousTestCase):
    """
    C{response_file} and C{greeting_file} stay inside the folder they are
    named from, never read a special file system, and are refused outright
    in rules that may not read files.
    """

    def setUp(self) -> None:
        self.folder = makeFolder(self)
        (self.folder / "body").write_bytes(b"inside")
        self.outside = makeFolder(self)
        (self.outside / "secret").write_bytes(b"outside")

    def load(self, name: str, outsideFolder: bool = False) -> bytes | None:
        rules = self.folder / "rules.toml"
        rules.write_text(rule('prefix = ""', f"response_file = '{name}'"))
        return loadRules(rules, outsideFolder=outsideFolder).rules[0].response

    def assertRefused(self, name: str, *fragments: str, **kwargs: bool) -> None:
        with self.assertRaises(RulesError) as caught:
            self.load(name, **kwargs)
        self.assertEqual(caught.exception.line, 3)
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))

    def test_symlink_inside_folder(self) -> None:
        os.symlink("body", self.folder / "link")
        self.assertEqual(self.load("link"), b"inside\0")

    def test_symlink_to_proc_refused(self) -> None:
        """
        The finding: a symlink to C{/proc/self/environ}, a regular file,
        served the server's environment.  It leaves the folder, and even
        when that is allowed, it is on a special file system.
        """
        os.symlink("/proc/self/environ", self.folder / "env")
        self.assertRefused("env", "response_file 'env'", "leads outside")
        self.assertRefused("env", "special file system", outsideFolder=True)

    def test_symlink_outside_folder(self) -> None:
        """
        A symlink that leads out of the folder is refused, unless the
        operator allows it (C{--rules-outside-folder}).
        """
        os.symlink(self.outside / "secret", self.folder / "link")
        self.assertRefused("link", "leads outside", "--rules-outside-folder")
        self.assertEqual(self.load("link", outsideFolder=True), b"outside\0")

    def test_parent_folder(self) -> None:
        name = f"../{self.outside.name}/secret"
        self.assertRefused(name, "leads outside")
        self.assertEqual(self.load(name, outsideFolder=True), b"outside\0")

    def test_absolute_path(self) -> None:
        """
        An absolute name is the operator's own choice; a symlink there
        still cannot lead out of the folder it names.
        """
        self.assertEqual(self.load(str(self.outside / "secret")), b"outside\0")
        os.symlink("/proc/self/environ", self.outside / "env")
        self.assertRefused(str(self.outside / "env"), "leads outside")

    def test_no_files_allowed(self) -> None:
        """
        Rules that arrive over a network must not read files at all.
        """
        for text, line in (
            (rule('prefix = ""', "response_file = 'body'"), 3),
            ("greeting_file = 'body'\n", 1),
        ):
            with self.assertRaises(RulesError) as caught:
                parseRules(text, "api", self.folder, allowFiles=False)
            self.assertEqual(caught.exception.line, line)
            self.assertIn("may not read files", str(caught.exception))
        # Text and hex are still fine.
        rules = parseRules(rule('prefix = ""'), "api", allowFiles=False)
        self.assertEqual(rules.rules[0].response, b"ok\0")
