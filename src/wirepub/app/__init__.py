"""The use cases: what a person or a program can ask wirepub to do, each a function that returns a result
dataclass. The CLI parses options, calls one of these and prints its result; the daemon and the web layer
call the same functions. None of them prints, exits or parses.
"""

from __future__ import annotations

from wirepub.app.documents import Rendered, Validation, render, validate
from wirepub.app.partners import DestinationCheck, check_partners
from wirepub.app.publish import Delivered, drop, push, resend, retry
from wirepub.app.sources import SourceCheck, check_sources
from wirepub.app.status import Status, status, write_status_page

__all__ = ["Delivered", "DestinationCheck", "Rendered", "SourceCheck", "Status", "Validation", "check_partners",
           "check_sources", "drop", "push", "render", "resend", "retry", "status", "validate", "write_status_page"]
