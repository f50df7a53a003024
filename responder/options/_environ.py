"""
Configuration from environment variables, for the tac file and for
containers.

Each variable is the long option's name in upper case with C{RESPONDER_}
in front and dashes as underscores: C{RESPONDER_PORT}, C{RESPONDER_MAX_REQUEST},
... .  Options that may be repeated (C{--listen}, C{--allow}, C{--deny},
C{--trusted-proxy}) take
a list separated by spaces or commas; flags (C{--quiet}) take 1/true/yes/on,
or 0/false/no/off or nothing.  The variables are turned into command-line
arguments and parsed by L{responder.options.Options}, so both ways in accept and
check exactly the same things.
"""

import difflib
from collections.abc import Mapping

from ..config import ResponderConfig
from ._twistd import Options

PREFIX = "RESPONDER_"
# A flag's spellings, in pairs for the error message.
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def configFromEnvironment(environ: Mapping[str, str]) -> ResponderConfig:
    """
    Build a L{ResponderConfig} from C{RESPONDER_*} variables in C{environ}.

    @raise SystemExit: with a one-line message, for an unknown variable or a
        bad value.
    """
    options = Options()
    flags = {long for long, short, doc in options.optFlags}
    repeatable = {"listen", "allow", "deny", "trusted-proxy"}
    parameters = {row[0] for row in options.optParameters} | repeatable
    argv: list[str] = []
    variables: dict[str, str] = {}
    for variable, value in sorted(environ.items()):
        if not variable.startswith(PREFIX):
            continue
        name = variable.removeprefix(PREFIX).lower().replace("_", "-")
        variables[f"--{name}:"] = f"{variable}:"
        if name in flags:
            argv += _flag(variable, name, value)
        elif name in repeatable:
            for item in value.replace(",", " ").split():
                argv.append(f"--{name}={item}")
        elif name in parameters:
            argv.append(f"--{name}={value}")
        else:
            raise SystemExit(_unknown(variable, flags | parameters))
    try:
        options.parseOptions(argv)
    except SystemExit as e:
        # Name the variable the user set, not the option it became.
        message = str(e.code)
        for option, variable in variables.items():
            message = message.replace(option, variable)
        raise SystemExit(message) from None
    config: ResponderConfig = options.config
    return config


def _unknown(variable: str, names: set[str]) -> str:
    """
    The error for an unknown C{RESPONDER_*} variable, with the closest known
    one when there is one, as a typo is the likely cause.
    """
    # Compared without the prefix, which every candidate shares.
    known = [name.upper().replace("-", "_") for name in names]
    close = difflib.get_close_matches(variable.removeprefix(PREFIX), known, n=1)
    hint = f" (did you mean {PREFIX}{close[0]}?)" if close else ""
    return f"responder: unknown environment variable {variable}{hint}"


def _flag(variable: str, name: str, value: str) -> list[str]:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return [f"--{name}"]
    if lowered in _FALSE:
        return []
    pairs = ", ".join(f"{on}/{off}" for on, off in zip(_TRUE, _FALSE, strict=False))
    raise SystemExit(f"responder: {variable}={value!r} is not one of {pairs}")
