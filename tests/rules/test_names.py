"""
A rule may be named, for the request journal; its text is kept for the
control API to show.
"""

import pytest

from responder.rules import RulesError, parseRules

TEXT = (
    '[[rule]]\nname = "greet"\nequals = "hi"\nresponse = "yo"\n\n'
    '[[rule]]\nprefix = ""\nfault = "close"\n'
)


def test_names_and_text() -> None:
    rules = parseRules(TEXT, "r.toml")
    assert [(r.index, r.name) for r in rules.rules] == [(1, "greet"), (2, None)]
    assert rules.text == TEXT


def test_a_name_is_a_string() -> None:
    with pytest.raises(RulesError) as raised:
        parseRules('[[rule]]\nequals = "a"\nresponse = "b"\nname = 7\n', "r.toml")
    assert str(raised.value) == "r.toml:4: rule 1: name must be a string, not integer 7"


def test_a_name_is_short() -> None:
    text = f'[[rule]]\nequals = "a"\nresponse = "b"\nname = "{"n" * 101}"\n'
    with pytest.raises(RulesError) as raised:
        parseRules(text, "r.toml")
    assert str(raised.value) == "r.toml:4: rule 1: name is over 100 characters"
    assert parseRules(text.replace("n" * 101, "n" * 100), "r.toml").rules[0].name
