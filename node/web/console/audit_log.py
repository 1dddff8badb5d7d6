"""The audit log: the latest operator actions on a page, and all of them as JSON lines
(core/audit.py's format) for a log archive or a SIEM. The export is itself an action."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from core.audit import json_line
from node.web.console.access import Desk, console_page

__all__ = ["routes"]


@console_page()
async def audit(desk: Desk) -> Response:
    records = await desk.node.db.audit.latest(200)
    return desk.render("console/audit.html", records=records)


@console_page()
async def export(desk: Desk) -> Response:
    await desk.audit("audit.export", "audit_log", "ok")
    records = await desk.node.db.audit.all()
    name = f"audit-{desk.node.config.id}.jsonl"
    return Response(
        "".join(json_line(r) for r in records),
        media_type="application/x-ndjson",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


routes = [
    Route("/console/audit", audit, name="console_audit"),
    Route("/console/audit.jsonl", export, name="console_audit_export"),
]
