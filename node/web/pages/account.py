"""Register an enterprise, log in, log out, and the language switch."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import SwnodeError
from core.parties import ENTERPRISE_ROLES
from node.web.i18n import COOKIE as LANG_COOKIE
from node.web.i18n import LOCALES
from node.web.pages.labels import N_
from node.web.refusals import refusal
from node.web.session import new_id
from node.web.visit import FieldErrors, Visit, field_errors, page, safe_next
from swf.v1 import identity_pb2 as ipb

__all__ = ["ROLE_LABELS", "routes"]


ROLE_LABELS = {
    "declarant": N_("Declarant"),
    "customs_broker": N_("Customs broker"),
    "carrier": N_("Carrier"),
    "forwarder": N_("Freight forwarder"),
    "exporter": N_("Exporter"),
    "importer": N_("Importer"),
}
REGISTER_FIELDS = ("uscc", "name", "admin_user", "admin_password")


def _register_form(
    visit: Visit, values: dict[str, str], roles: list[str], errors: FieldErrors, status: int
) -> Response:
    return visit.render(
        "account/register.html",
        status_code=status,
        values=values,
        chosen_roles=roles,
        role_labels={r: ROLE_LABELS.get(r, r) for r in sorted(ENTERPRISE_ROLES)},
        errors=errors,
    )


@page()
async def register(visit: Visit) -> Response:
    if visit.request.method == "GET":
        return _register_form(visit, {}, [], {}, 200)
    form = await visit.form()
    roles = await visit.form_list("roles")
    values = {k: form.get(k, "") for k in REGISTER_FIELDS}
    request = ipb.RegisterEnterpriseRequest(
        uscc=values["uscc"],
        name=values["name"],
        roles=roles,
        admin_user=values["admin_user"],
        admin_password=values["admin_password"],
    )
    try:
        registration = await visit.portal.node.accounts.registrations.register_enterprise(
            request, visit.source()
        )
    except SwnodeError as exc:
        values["admin_password"] = ""
        return _register_form(visit, values, roles, field_errors(exc, "uscc", visit.locale), 400)
    return visit.render(
        "account/registered.html", registration=registration, user=values["admin_user"]
    )


def _login_form(visit: Visit, values: dict[str, str], errors: FieldErrors, status: int) -> Response:
    return visit.render(
        "account/login.html",
        status_code=status,
        values=values,
        errors=errors,
        next=safe_next(visit.request.query_params.get("next")),
    )


@page()
async def login(visit: Visit) -> Response:
    if visit.request.method == "GET":
        return _login_form(visit, {}, {}, 200)
    form = await visit.form()
    values = {"party": form.get("party", "").strip(), "user": form.get("user", "").strip()}
    try:
        tokens = await visit.portal.node.accounts.sessions.login(
            ipb.LoginRequest(
                party=values["party"], user=values["user"], password=form.get("password", "")
            ),
            visit.source(),
        )
        session_id = await visit.portal.sessions.open(tokens)
    except SwnodeError as exc:
        field = exc.field if exc.field in ("party", "user") else "password"
        return _login_form(visit, values, {field: refusal(exc, visit.locale)}, 400)
    visit.replace_session(session_id)
    return RedirectResponse(safe_next(form.get("next")), status_code=303)


@page()
async def logout(visit: Visit) -> Response:
    await visit.portal.sessions.close(visit.session_id, visit.signed_in)
    visit.replace_session(new_id())
    return RedirectResponse("/?logged_out=1", status_code=303)


@page()
async def language(visit: Visit) -> Response:
    form = await visit.form()
    chosen = form.get("lang", "")
    response = RedirectResponse(safe_next(form.get("next"), "/"), status_code=303)
    if chosen in LOCALES:
        visit.cookies.append(
            (
                LANG_COOKIE,
                chosen,
                {
                    "max_age": 365 * 86400,
                    "httponly": True,
                    "samesite": "strict",
                    "secure": visit.portal.https,
                    "path": "/",
                },
            )
        )
    return response


routes = [
    Route("/register", register, methods=["GET", "POST"], name="register"),
    Route("/login", login, methods=["GET", "POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/language", language, methods=["POST"], name="language"),
]
