"""Where the project's own schemas and templates are: inside the installed package, or in a checkout."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def _data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"wirepub's {name}/ folder is missing from the installation ({_PACKAGE})")


def schema_path(name: str) -> Path:
    return _data_dir("schemas") / name


def templates_dir() -> Path:
    return _data_dir("templates")
