"""The operator console: a node's own operators (identity/operators.py), signed in with a
password and a TOTP code, at /console. One module per view, each exporting `routes`; every
action goes to the audit log (node/web/console/access.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from node.web.console import audit_log, charts, messages, network, parties, signin

__all__ = ["routes"]

routes: list[BaseRoute] = [
    r for module in (signin, network, messages, parties, charts, audit_log) for r in module.routes
]
