"""Requests that came through the site's CloudFront distribution, and what only they may claim.

The API Gateway stage has a public ``execute-api`` address of its own. The distribution adds a
secret header, ``X-Comnist-Origin``, to every request it forwards; a stage with a secret answers
nothing without it. CloudFront also replaces a viewer's own ``CloudFront-Viewer-Country``, so
that header is trusted only on a request that proves it came through CloudFront. Locally there
is no CloudFront, no secret and no trusted country.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from .validation import country_from_headers

ORIGIN_HEADER = "X-Comnist-Origin"


def came_through_cloudfront(headers: Mapping[str, str], secret: str | None) -> bool:
    """Whether ``headers`` carry the stage's secret (never true without a secret)."""
    if not secret:
        return False
    sent = headers.get(ORIGIN_HEADER.lower()) or headers.get(ORIGIN_HEADER) or ""
    return hmac.compare_digest(sent.encode(), secret.encode())


def refused(headers: Mapping[str, str], secret: str | None) -> bool:
    """Whether a stage with ``secret`` must refuse a request with ``headers``."""
    return secret is not None and not came_through_cloudfront(headers, secret)


def viewer_country(headers: Mapping[str, str], secret: str | None) -> str | None:
    """CloudFront's viewer country, from a request that came through CloudFront only."""
    if not came_through_cloudfront(headers, secret):
        return None
    return country_from_headers(dict(headers))
