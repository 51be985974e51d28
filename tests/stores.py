"""Store URLs for tests: the default SQLite file, and a real PostgreSQL (a fresh database per test).

PostgreSQL is looked for at $WIREPUB_TEST_PG (a server URL without database), else 127.0.0.1:5432 as the
current user, as CI machines have it; where none answers the PostgreSQL cases skip and say so."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

PG_SERVER = os.environ.get("WIREPUB_TEST_PG", "postgresql://127.0.0.1:5432/postgres")


def _admin():  # type: ignore[no-untyped-def]
    import psycopg

    try:
        return psycopg.connect(PG_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG_SERVER} ({str(exc).strip().splitlines()[0]}); "
                    "set WIREPUB_TEST_PG to a server URL to run these")


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"wirepub_test_{uuid.uuid4().hex[:12]}"
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/wirepub.db"
    return str(request.getfixturevalue("pg_url"))
