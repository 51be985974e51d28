"""URLs as wirepub may show and store them: no password in the user info, no value in the query string.

A destination's URL may carry a secret by the partner's design (`https://partner/ingest?api_key=...`): the
request needs it, nothing else does. Messages, log lines, status output, the status page, /api/status and
the ledger's rows all use shown(url); the ledger's rows are matched back to the configured destination by
their shown form.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

HIDDEN = "***"


def shown(url: str) -> str:
    """The URL with its password and every query value replaced by ***; a plain path is returned as it is."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url.split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]   # unparsable: keep what is safe
    netloc = parts.netloc
    if "@" in netloc:
        host = netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        netloc = f"{user}:{HIDDEN}@{host}" if parts.password is not None else f"{user}@{host}"
    del port  # parsed only to refuse a garbled one above
    query = "&".join(f"{piece.split('=', 1)[0]}={HIDDEN}" if "=" in piece else HIDDEN
                     for piece in parts.query.split("&") if piece)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
