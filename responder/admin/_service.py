"""
The control API as a service beside the responder's own endpoints.
"""

from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IReactorTime

from ..core import EndpointService, ResponderFactory, installedReactor
from ._api import ControlAPI, Workers
from ._http import QuietSite


def makeAdminService(
    description: str,
    factory: ResponderFactory,
    token: bytes | None = None,
    reactor: IReactorTime | None = None,
    workers: Workers | None = None,
) -> EndpointService:
    """
    A service serving the control API of C{factory} on the endpoint
    C{description} (already checked by L{responder.options}), asking for
    C{token} if it is given; with C{--workers}, C{workers} answers for
    them.  Idle connections are closed after the factory's C{timeout}, as
    responder's own are.

    Add it to the service that listens: a failure to listen then ends the
    start as it does for the responder's own endpoints.
    """
    if reactor is None:
        reactor = installedReactor()
    site = QuietSite(
        ControlAPI(factory, token, workers),
        reactor=reactor,
        timeout=factory.config.timeout,
        parsePOSTFormSubmission=False,
    )  # type: ignore[no-untyped-call]
    endpoint = serverFromString(reactor, description)
    return EndpointService(description, endpoint, site, purpose="the control API")
