"""Messages: search by id, conversation, document type, peer and status; one message's hops
and receipts; its evidence (the file `swnode receipt` writes and `swnode verify-receipt`
checks, from the same code); and a redrive of a dead or failing one (the outbox's own, as
`swnode redrive`)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import SwnodeError
from core.hops import path
from core.outbox_status import Status
from node.operator.evidence import evidence_json, message_evidence
from node.web.console.access import Desk, console_page
from node.web.refusals import refusal
from storage.message_search import MessageQuery

__all__ = ["routes"]

FILTERS = ("message_id", "conversation_id", "document_type", "peer", "status")
STATUSES = tuple(s.value for s in Status)
FINAL = frozenset({Status.DELIVERED.value, Status.DEAD.value})  # of a message sent or relayed


@console_page()
async def search(desk: Desk) -> Response:
    params = desk.visit.request.query_params
    values = {k: params.get(k, "").strip()[:200] for k in FILTERS}
    asked = any(values.values())
    query = MessageQuery(**values, limit=100)
    found = await desk.node.db.message_search.find(desk.node.config.id, query)
    if asked:
        described = " ".join(f"{k}={v}" for k, v in values.items() if v)
        await desk.audit("messages.search", described, "ok", f"{len(found)} found")
    return desk.render(
        "console/messages.html", values=values, statuses=STATUSES, found=found, asked=asked
    )


@console_page()
async def message(desk: Desk) -> Response:
    message_id = desk.visit.request.path_params["message_id"]
    node = desk.node
    records = await node.db.message_search.find(
        node.config.id, MessageQuery(message_id=message_id, limit=10)
    )
    if not records:
        await desk.audit("message.view", message_id, "refused", "message.unknown")
        return desk.visit.not_found()
    receipts = await node.db.outbox.receipts(message_id)
    first = records[0]
    # The page refreshing itself while the message moves (htmx) is not another look.
    if desk.visit.request.headers.get("hx-request") != "true":
        await desk.audit("message.view", message_id, "ok", first.status)
    return desk.render(
        "console/message.html",
        records=records,
        hops=path(first.origin, first.recipient),
        receipts=receipts,
        redrivable=any(r.direction == "out" and r.status in ("dead", "failed") for r in records),
        notice=desk.visit.request.query_params.get("done", ""),
        moving=any(r.direction != "in" and r.status not in FINAL for r in records),
        error="",
    )


@console_page()
async def redrive(desk: Desk) -> Response:
    message_id = desk.visit.request.path_params["message_id"]
    try:
        was = await desk.node.outbox.redrive(message_id)
    except SwnodeError as exc:
        await desk.audit("message.redrive", message_id, "refused", f"{exc.reason}: {exc.message}")
        return desk.visit.refuse(400, "Not redriven", refusal(exc, desk.visit.locale))
    await desk.audit("message.redrive", message_id, "ok", f"was {was}")
    return RedirectResponse(f"/console/messages/{message_id}?done=redriven", status_code=303)


@console_page()
async def evidence(desk: Desk) -> Response:
    message_id = desk.visit.request.path_params["message_id"]
    node = desk.node
    try:
        found = await message_evidence(node.db, node.trust, node.signer, message_id)
    except SwnodeError as exc:
        await desk.audit("message.evidence", message_id, "refused", exc.reason)
        return desk.visit.not_found()
    await desk.audit("message.evidence", message_id, "ok")
    return Response(
        evidence_json(found),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="evidence-{message_id}.json"'},
    )


routes = [
    Route("/console/messages", search, name="console_messages"),
    Route("/console/messages/{message_id}", message, name="console_message"),
    Route(
        "/console/messages/{message_id}/redrive",
        redrive,
        methods=["POST"],
        name="console_redrive",
    ),
    Route("/console/messages/{message_id}/evidence", evidence, name="console_evidence"),
]
