"""
The control API (C{--admin ENDPOINT}): HTTP/JSON on C{twisted.web} to read
and clear the request journal, replace the rules, reset, and check health,
as a test asks a test double.  Imported only when C{--admin} is given, so
a server without it never loads C{twisted.web}.  The API is described in
C{docs/control-api.yaml} (OpenAPI) and C{docs/control-api.md}.
"""

from ._api import ControlAPI, Workers
from ._http import MAX_BODY, BoundedRequest, QuietSite
from ._rules import rulesFromText
from ._service import makeAdminService
from ._stream import BATCH, streamEntries
from ._view import Filters, entryView, parseFilters, selected

__all__ = [
    "BATCH",
    "MAX_BODY",
    "BoundedRequest",
    "ControlAPI",
    "Filters",
    "QuietSite",
    "Workers",
    "entryView",
    "makeAdminService",
    "parseFilters",
    "rulesFromText",
    "selected",
    "streamEntries",
]
