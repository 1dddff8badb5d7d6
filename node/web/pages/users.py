"""The enterprise's users: add, disable, enable — administrators only, at the home node, with
exactly the identity layer's rules (identity/users.py), so a non-administrator is refused with
the API's reason."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import PermissionDenied, SwnodeError
from node.web.pages.account import ROLE_LABELS
from node.web.pages.labels import N_
from node.web.refusals import refusal
from node.web.visit import FieldErrors, Visit, field_errors, page
from swf.v1 import identity_pb2 as ipb

__all__ = ["routes"]

USER_ROLES = (
    "admin",
    "declarant",
    "customs_broker",
    "carrier",
    "forwarder",
    "exporter",
    "importer",
)


async def _page(
    visit: Visit, *, values: dict[str, str], errors: FieldErrors, status: int = 200
) -> Response:
    assert visit.signed_in is not None
    claims = visit.signed_in.claims
    try:
        listed = await visit.portal.node.accounts.users.list_users(claims)
    except SwnodeError as exc:
        code = 403 if isinstance(exc, PermissionDenied) else 409
        return visit.refuse(code, "Only administrators manage users", refusal(exc, visit.locale))
    roles = [r for r in USER_ROLES if r == "admin" or r in claims.party_roles]
    return visit.render(
        "users/list.html",
        status_code=status,
        users=list(listed.users),
        roles=roles,
        values=values,
        errors=errors,
        me=claims.user,
        role_labels={**ROLE_LABELS, "admin": N_("Administrator")},
    )


@page(signed_in=True)
async def users(visit: Visit) -> Response:
    assert visit.signed_in is not None
    if visit.request.method == "GET":
        return await _page(visit, values={}, errors={})
    form = await visit.form()
    values = {"user": form.get("user", "")}
    try:
        await visit.portal.node.accounts.users.add_user(
            visit.signed_in.claims,
            ipb.AddUserRequest(
                user=values["user"],
                password=form.get("password", ""),
                roles=await visit.form_list("roles"),
            ),
        )
    except SwnodeError as exc:
        if isinstance(exc, PermissionDenied):
            return visit.refuse(403, "Only administrators manage users", refusal(exc, visit.locale))
        return await _page(
            visit, values=values, errors=field_errors(exc, "user", visit.locale), status=400
        )
    return RedirectResponse("/users", status_code=303)


async def _set(visit: Visit, disable: bool) -> Response:
    assert visit.signed_in is not None
    user = visit.request.path_params["user"]
    manage = visit.portal.node.accounts.users
    try:
        if disable:
            await manage.disable_user(visit.signed_in.claims, ipb.DisableUserRequest(user=user))
        else:
            await manage.enable_user(visit.signed_in.claims, ipb.EnableUserRequest(user=user))
    except SwnodeError as exc:
        if isinstance(exc, PermissionDenied):
            return visit.refuse(403, "Only administrators manage users", refusal(exc, visit.locale))
        return await _page(
            visit, values={}, errors={"users": refusal(exc, visit.locale)}, status=400
        )
    return RedirectResponse("/users", status_code=303)


@page(signed_in=True)
async def disable(visit: Visit) -> Response:
    return await _set(visit, True)


@page(signed_in=True)
async def enable(visit: Visit) -> Response:
    return await _set(visit, False)


routes = [
    Route("/users", users, methods=["GET", "POST"], name="users"),
    Route("/users/{user}/disable", disable, methods=["POST"], name="disable_user"),
    Route("/users/{user}/enable", enable, methods=["POST"], name="enable_user"),
]
