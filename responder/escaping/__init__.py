"""
Escaping: untrusted bytes and text made safe for one log line.

Pure functions, with no Twisted in them: the request log, rules errors and
peer addresses all escape through here, so one reading of the escapes
holds for every line the server writes.
"""

from ._escape import escapeRequest, escapeText

__all__ = ["escapeRequest", "escapeText"]
