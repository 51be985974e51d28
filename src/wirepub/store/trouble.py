"""When the store itself fails: one sentence that says what and what to do, instead of a traceback.

A table of what the databases say (SQLite's and PostgreSQL's own messages) and what wirepub says then; the
first row whose words appear in the driver's message wins. What is not in the table is said as the
driver's first line, with the store's URL (never its password).
"""

from __future__ import annotations

import sqlalchemy as sa

from wirepub.errors import StoreError

# (words in the driver's message, what wirepub says; {store} is the URL without a password, {detail} the
# driver's first line)
TROUBLE: tuple[tuple[str, str], ...] = (
    ("database is locked", "the store {store} is locked: another process has been writing to it for more than "
     "5 s (another wirepub push or run, or a backup holding it); wait for it to finish and run again"),
    ("file is not a database", "the store {store} is not a SQLite database (damaged or overwritten); restore "
     "it from a backup (docs/operations.md), or move it away to start an empty store"),
    ("database disk image is malformed", "the store {store} is damaged (a truncated or corrupt file); restore it "
     "from a backup (docs/operations.md), or move it away to start an empty store"),
    ("database or disk is full", "the disk holding the store {store} is full; free some space and run again "
     "(nothing is lost: what was not recorded is read again)"),
    ("no space left on device", "the disk holding the store {store} is full; free some space and run again "
     "(nothing is lost: what was not recorded is read again)"),
    ("unable to open database file", "cannot open the store {store}: check that its folder exists and that "
     "wirepub may write there"),
    ("readonly database", "the store {store} is read-only for wirepub: give the user wirepub runs as write "
     "access to the file and its folder"),
    ("password authentication failed", "PostgreSQL refused the password for the store {store}: check the "
     "password in WIREPUB_STORE_URL (or store.url)"),
    ("no password supplied", "PostgreSQL wants a password for the store {store}: put it in WIREPUB_STORE_URL"),
    ("does not exist", "the store {store} names something PostgreSQL does not have ({detail}): create the "
     "database and role, or correct WIREPUB_STORE_URL"),
    ("connection refused", "cannot reach the store {store}: the connection was refused (is PostgreSQL running, "
     "and listening there?)"),
    ("could not translate host name", "cannot reach the store {store}: its host name does not resolve"),
    ("timeout expired", "cannot reach the store {store}: no answer in time"),
)


def store_error(exc: sa.exc.SQLAlchemyError, shown_url: str) -> StoreError:
    detail = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    low = detail.lower()
    for words, sentence in TROUBLE:
        if words in low:
            return StoreError(sentence.format(store=shown_url, detail=detail))
    return StoreError(f"the store {shown_url} failed: {detail}")
