"""
Rules files: answer requests by what they hold, and misbehave on purpose.

A rules file (C{--rules FILE}) is TOML.  It holds an ordered list of
C{[[rule]]} tables; each matches a request by its exact bytes, a prefix or
a regular expression, and says what to do with a request it matches:
answer with its own response (text, hex, or a file's bytes, with a
configurable terminator), perhaps late or slowly, or not answer at all.
The first rule that matches wins; a request no rule matches gets the
default response.  The file may also set a greeting, sent as a client
connects, before any request.

Top-level keys (all optional; they come before the first C{[[rule]]}):

  - C{greeting} (UTF-8 text), C{greeting_hex} or C{greeting_file}: at most
    one; sent when a client connects.
  - C{greeting_terminator}: text appended to the greeting; defaults to
    C{terminator}.
  - C{terminator}: text appended to every response and the greeting that
    sets none of its own; defaults to one NUL, like the default response.
    It does not change the default response itself.

Keys of a C{[[rule]]}:

  - exactly one match key: C{equals} or C{equals_hex} (the request is
    exactly these bytes), C{prefix} or C{prefix_hex} (the request starts
    with them; C{prefix = ""} matches every request), or C{regex} (a
    regular expression for RE2, which matches in linear time, compiled as
    a bytes pattern from the UTF-8 of the text and searched for anywhere
    in the request: anchor it with C{\\A} and C{\\Z} to match the whole
    request; no backreferences or lookaround).
  - exactly one of C{response} (UTF-8 text), C{response_hex} or
    C{response_file} (a path, relative to the folder of the rules file;
    read when the rules are loaded) -- unless the rule has a C{fault}.
    C{response_file} and C{greeting_file} must stay, symlinks followed,
    inside the folder they are named from (unless C{loadRules} is told
    C{outsideFolder}), and never on a special file system such as
    C{/proc}; rules that arrive over a network are parsed with
    C{parseRules(..., allowFiles=False)}, which refuses both keys.
  - C{terminator}: text appended to the response; defaults to the
    file's C{terminator}, itself one NUL by default; C{""} for none.
  - C{delay}: seconds to wait before answering (or before closing, with
    C{fault = "close"} or C{"reset"}); 0 or more, finite.
  - C{slow = { bytes = N, interval = SECONDS }}: write the response N bytes
    at a time, one piece every C{interval} seconds.
  - C{fault}: C{"close"} (close without answering), C{"reset"} (abort the
    connection: a TCP reset) or C{"never"} (keep the connection and never
    answer).  A rule with a fault has no response, terminator or C{slow};
    C{"never"} has no C{delay} either.
  - C{name}: what to call the rule in the request journal (at most 100
    characters); optional.

Requests are matched as responder defines them: the bytes before the first
NUL (or the keep-alive delimiter), at most C{--max-request} of them.

This package is only the parsing, checking and matching; it uses no
Twisted: the model and matching (C{_model}), reading files (C{_files}),
loading (C{_loading}), checking (C{_validation}), the regex engine
(C{_regex}) and the TOML line scanner (C{_keylines}) are apart.

A bad file raises L{RulesError}, whose message is one line,
C{FILE:LINE: reason}.
"""

from ._files import MAX_FILE_BYTES
from ._keylines import KeyLines
from ._loading import loadRules, parseRules
from ._model import Action, MatchKind, Rule, Rules, RulesError

__all__ = [
    "MAX_FILE_BYTES",
    "Action",
    "KeyLines",
    "MatchKind",
    "Rule",
    "Rules",
    "RulesError",
    "loadRules",
    "parseRules",
]
