"""
Endpoint descriptions read as text: which type an endpoint is, and what
C{haproxy:} wraps.  Pure string work, shared by the option checks and the
workers, which must know whether a socket can be passed on.
"""


def unwrapProxy(description: str) -> tuple[str, str]:
    """
    Split an endpoint description into its C{haproxy:} wrappers, as many as
    there are and in any case (Twisted finds plugin endpoint types whatever
    their case), and the description they wrap.
    """
    prefix, rest = "", description
    while rest.partition(":")[0].lower() == "haproxy":
        head, _, rest = rest.partition(":")
        prefix += head + ":"
    return prefix, rest


def endpointType(description: str) -> str:
    """
    The type of an endpoint description, in lower case: C{tcp}, C{unix}...
    """
    return description.partition(":")[0].lower()
