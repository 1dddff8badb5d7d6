"""The security headers on every response of the portal, in one table.

The Content-Security-Policy allows nothing but the portal's own origin: no inline script or
style, no eval, no framing, forms that post only here. Every asset is served by the node itself
(node/web/static/), so the portal works in an isolated network and a CDN can change nothing.
"""

from __future__ import annotations

__all__ = ["CSP", "security_headers"]

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def security_headers(*, https: bool) -> dict[str, str]:
    headers = {
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
        "x-frame-options": "DENY",
        "referrer-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-resource-policy": "same-origin",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
        "cache-control": "no-store",
    }
    if https:
        headers["strict-transport-security"] = "max-age=31536000"
    return headers
