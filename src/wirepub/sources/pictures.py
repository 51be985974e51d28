"""Pictures given as local files beside a story (media[].file): read once at intake, their content address
(sha256), size, dimensions and media type taken from the file itself (Pillow reads the header, never trusts
the name), written into the story document, and their bytes handed on for the store. Each partner then gets
the file at a content-addressed path, before the documents that show it (publisher, ledger).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from wirepub.errors import StoryError

MAX_PICTURE_BYTES = 50 * 1024 * 1024
_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp", "TIFF": "image/tiff",
          "BMP": "image/bmp", "AVIF": "image/avif"}


def local_pictures(document: dict[str, Any], folder: Path, origin: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The document with each local picture described from its file, and the files' bytes by sha256.
    Raises StoryError naming the picture when a file is missing, not a regular file, or not a picture."""
    media = document.get("media")
    if not isinstance(media, list) or not any(isinstance(m, dict) and "file" in m for m in media):
        return document, {}
    blobs: dict[str, bytes] = {}
    described = []
    for i, m in enumerate(media):
        if not isinstance(m, dict) or "file" not in m or not isinstance(m["file"], str):
            described.append(m)
            continue
        data = _read(folder, m["file"], origin, f"media[{i}].file")
        sha = hashlib.sha256(data).hexdigest()
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                kind = _TYPES.get(img.format or "", Image.MIME.get(img.format or "", ""))
        except (UnidentifiedImageError, OSError) as exc:
            raise StoryError(f"{m['file']} is not a picture wirepub can read ({exc})", file=origin,
                             field=f"media[{i}].file") from None
        blobs[sha] = data
        described.append({**m, "sha256": sha, "size": len(data), "width": width, "height": height,
                          **({"type": kind} if kind else {})})
    return {**document, "media": described}, blobs


def _read(folder: Path, name: str, origin: str, field: str) -> bytes:
    if name.startswith(("/", "\\")) or ".." in Path(name).parts:
        raise StoryError("a picture file is named relative to the story, without '..'", file=origin, field=field)
    path = folder / name
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise StoryError(f"no picture file {name} beside the story", file=origin, field=field) from None
    except OSError as exc:
        raise StoryError(f"picture file {name} cannot be read ({exc.strerror}); links are not followed",
                         file=origin, field=field) from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise StoryError(f"{name} is not a regular file", file=origin, field=field)
        data = f.read(MAX_PICTURE_BYTES + 1)
    if len(data) > MAX_PICTURE_BYTES:
        raise StoryError(f"picture file {name} is larger than {MAX_PICTURE_BYTES:,} bytes", file=origin, field=field)
    return data
