"""Content types for files served as they are: the site on S3 and ``comnist serve``."""

from __future__ import annotations

import mimetypes

TEXTUAL = (
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
)
# Not in every system's MIME table: the web app manifest.
mimetypes.add_type("application/manifest+json", ".webmanifest")


def content_type(name: str) -> str:
    """The type of a file by its name; textual types carry ``charset=utf-8``.

    Browsers guess a charset for text served without one, and guess wrong for Cyrillic.
    """
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in TEXTUAL:
        kind += "; charset=utf-8"
    return kind
