"""Parties and agencies of this node (add one with its first user, suspend, resume: the
identity layer's own calls, as `swnode party` makes them), and, on a central, revoking a
member node (the authority's, as `swnode revoke`)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import InvalidArgument, SwnodeError
from core.parties import validate_kind
from node.web.console.access import Desk, console_page
from node.web.pages.labels import N_
from node.web.refusals import refusal

__all__ = ["routes"]

KINDS = ("agency", "terminal", "airport", "rail", "road")
KIND_LABELS = {
    "agency": N_("Agency"),
    "terminal": N_("Terminal"),
    "airport": N_("Airport"),
    "rail": N_("Rail"),
    "road": N_("Road"),
}
FIELDS = ("id", "kind", "name", "roles", "user")


async def _list(
    desk: Desk,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    added: tuple[str, str, str] | None = None,
    status_code: int = 200,
) -> Response:
    parties = await desk.node.db.parties.of_kinds(KINDS)
    return desk.render(
        "console/parties.html",
        status_code=status_code,
        parties=parties,
        kinds=KIND_LABELS,
        values=values or {"kind": "agency", "user": "officer"},
        errors=errors or {},
        added=added,
    )


@console_page()
async def parties(desk: Desk) -> Response:
    if desk.visit.request.method == "GET":
        return await _list(desk)
    form = await desk.visit.form()
    values = {k: form.get(k, "").strip() for k in FIELDS}
    roles = tuple(r.strip() for r in values["roles"].split(",") if r.strip())
    try:
        kind = validate_kind(values["kind"])
        password = await desk.node.accounts.registrations.add_party(
            values["id"], kind, values["name"], roles, values["user"] or "officer"
        )
    except SwnodeError as exc:
        await desk.audit("party.add", values["id"], "refused", f"{exc.reason}: {exc.message}")
        field = exc.field if exc.field in FIELDS else "id"
        return await _list(
            desk, values=values, errors={field: refusal(exc, desk.visit.locale)}, status_code=400
        )
    await desk.audit("party.add", values["id"], "ok", f"{kind}, user {values['user']}")
    return await _list(desk, added=(values["id"], values["user"] or "officer", password))


@console_page()
async def suspend(desk: Desk) -> Response:
    party_id = desk.visit.request.path_params["party_id"]
    resume = desk.visit.request.url.path.endswith("/resume")
    action = "party.resume" if resume else "party.suspend"
    try:
        await desk.node.accounts.registrations.suspend(party_id, resume=resume)
    except SwnodeError as exc:
        await desk.audit(action, party_id, "refused", f"{exc.reason}: {exc.message}")
        return desk.visit.refuse(400, "Not changed", refusal(exc, desk.visit.locale))
    await desk.audit(action, party_id, "ok")
    return RedirectResponse("/console/parties", status_code=303)


@console_page()
async def revocation(desk: Desk) -> Response:
    node = desk.node
    authority = node.authority
    if authority is None:
        return desk.visit.not_found()
    errors: dict[str, str] = {}
    values = {"id": "", "reason": "", "confirm": ""}
    done = ""
    status_code = 200
    if desk.visit.request.method == "POST":
        form = await desk.visit.form()
        values = {k: form.get(k, "").strip() for k in ("id", "reason", "confirm")}
        try:
            if values["confirm"] != values["id"]:
                raise InvalidArgument(
                    "revoke.unconfirmed",
                    "confirm: type the node id again to revoke it",
                    field="confirm",
                )
            version = await authority.revoke(
                values["id"], values["reason"] or "revoked by the central operator"
            )
        except SwnodeError as exc:
            await desk.audit("node.revoke", values["id"], "refused", f"{exc.reason}: {exc.message}")
            field = "confirm" if exc.field == "confirm" else "id"
            errors = {field: refusal(exc, desk.visit.locale)}
            status_code = 400
        else:
            await desk.audit("node.revoke", values["id"], "ok", f"directory v{version}")
            done = values["id"]
    members = sorted((n for n in node.trust.nodes() if n.id != node.config.id), key=lambda n: n.id)
    return desk.render(
        "console/revocation.html",
        status_code=status_code,
        members=members,
        values=values,
        errors=errors,
        done=done,
    )


routes = [
    Route("/console/parties", parties, methods=["GET", "POST"], name="console_parties"),
    Route("/console/parties/{party_id}/suspend", suspend, methods=["POST"], name="console_suspend"),
    Route("/console/parties/{party_id}/resume", suspend, methods=["POST"], name="console_resume"),
    Route("/console/revocation", revocation, methods=["GET", "POST"], name="console_revocation"),
]
