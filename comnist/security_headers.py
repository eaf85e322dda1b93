"""The browser's own defences: the response headers of every page, in one place.

``comnist serve`` sends :func:`security_headers` with each answer; ``comnist bootstrap`` puts the
same values in the site distribution's CloudFront response-headers policy
(:func:`response_headers_policy_config`), which adds HSTS. HSTS is for HTTPS only: a browser
ignores it on plain http (RFC 6797, section 8.1), and ``comnist serve`` speaks plain http on
127.0.0.1 or a LAN address, where a remembered HSTS entry would only break other local servers
the day one of them answered over TLS on the same name.
"""

from __future__ import annotations

from typing import Any

# The site's API is on its own origin (``/api``: ``comnist serve`` and the CloudFront route),
# so the page may talk to nothing else. Scripts and styles are files of the site only: no
# inline script, no inline style attribute, no eval. Images may be data: and blob: URLs (the
# sharing picture, the letters drawn again on canvases).
CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "worker-src": "'self'",
    "manifest-src": "'self'",
}
REFERRER_POLICY = "strict-origin-when-cross-origin"
# Powerful features the site never uses are off for it and for anything it might embed.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
HSTS_MAX_AGE = 63072000  # two years: a browser that has seen the site never falls back to http
HSTS = f"max-age={HSTS_MAX_AGE}; includeSubDomains"


def content_security_policy(api_origin: str = "'self'") -> str:
    """The site's CSP; ``api_origin`` is where the page may send drawings (its own origin)."""
    directives = {**CSP_DIRECTIVES, "connect-src": api_origin}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(api_origin: str = "'self'", https: bool = False) -> dict[str, str]:
    """Every defence header by name; ``Strict-Transport-Security`` only when served over HTTPS."""
    headers = {
        "Content-Security-Policy": content_security_policy(api_origin),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": REFERRER_POLICY,
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def response_headers_policy_config(name: str, api_origin: str = "'self'") -> dict[str, Any]:
    """The CloudFront response-headers policy that sends :func:`security_headers` over HTTPS."""
    headers = security_headers(api_origin, https=True)
    return {
        "Name": name,
        "Comment": "CoMNIST: the browser's own defences (CSP, HSTS, nosniff, ...)",
        "SecurityHeadersConfig": {
            "ContentSecurityPolicy": {
                "Override": True,
                "ContentSecurityPolicy": headers["Content-Security-Policy"],
            },
            "StrictTransportSecurity": {
                "Override": True,
                "AccessControlMaxAgeSec": HSTS_MAX_AGE,
                "IncludeSubdomains": True,
                "Preload": False,
            },
            "ContentTypeOptions": {"Override": True},
            "FrameOptions": {"Override": True, "FrameOption": headers["X-Frame-Options"]},
            "ReferrerPolicy": {"Override": True, "ReferrerPolicy": headers["Referrer-Policy"]},
        },
        # CloudFront's security headers have no Permissions-Policy: it is a custom header.
        "CustomHeadersConfig": {
            "Quantity": 1,
            "Items": [
                {
                    "Header": "Permissions-Policy",
                    "Value": headers["Permissions-Policy"],
                    "Override": True,
                }
            ],
        },
    }
