"""Signing in to the console (password and TOTP code), the first login's new password, and
signing out."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import SwnodeError
from node.web.console.access import SESSION_LIFETIME_MS, Desk, console_page, session_key
from node.web.refusals import refusal
from node.web.session import new_id
from node.web.visit import safe_next

__all__ = ["routes"]

HOME = "/console"


def _login_form(
    desk: Desk, values: dict[str, str], errors: dict[str, str], status: int
) -> Response:
    return desk.render(
        "console/login.html",
        status_code=status,
        values=values,
        errors=errors,
        next=safe_next(desk.visit.request.query_params.get("next"), HOME),
    )


@console_page(signed_in=False)
async def login(desk: Desk) -> Response:
    visit = desk.visit
    if visit.request.method == "GET":
        return _login_form(desk, {}, {}, 200)
    form = await visit.form()
    user = form.get("user", "").strip()
    try:
        operator = await desk.operators().login(
            user, form.get("password", ""), form.get("code", ""), visit.source()
        )
    except SwnodeError as exc:
        await desk.audit("login", user, "refused", exc.reason, who=user or "-")
        # At the password, whichever factor was wrong: the answer does not say which.
        error = {"password": refusal(exc, desk.visit.locale)}
        return _login_form(desk, {"user": user}, error, 400)
    session_id = new_id()
    now_ms = desk.now_ms()
    await desk.node.db.operators.open_session(
        session_key(session_id), operator.username, now_ms, now_ms + SESSION_LIFETIME_MS
    )
    visit.replace_session(session_id)
    await desk.audit("login", operator.username, "ok", who=operator.username)
    target = "/console/password" if operator.must_change_password else form.get("next")
    return RedirectResponse(safe_next(target, HOME), status_code=303)


@console_page(before_password=True)
async def password(desk: Desk) -> Response:
    visit = desk.visit
    if visit.request.method == "GET":
        return desk.render("console/password.html", errors={})
    form = await visit.form()
    try:
        await desk.operators().change_password(
            desk.name, form.get("current_password", ""), form.get("new_password", "")
        )
    except SwnodeError as exc:
        await desk.audit("password.change", desk.name, "refused", exc.reason)
        field = exc.field if exc.field in ("current_password", "new_password") else "new_password"
        return desk.render(
            "console/password.html",
            status_code=400,
            errors={field: refusal(exc, desk.visit.locale)},
        )
    await desk.audit("password.change", desk.name, "ok")
    return RedirectResponse(HOME, status_code=303)


@console_page(before_password=True)
async def logout(desk: Desk) -> Response:
    await desk.node.db.operators.end_session(session_key(desk.visit.session_id))
    desk.visit.replace_session(new_id())
    await desk.audit("logout", desk.name, "ok")
    return RedirectResponse("/console/login", status_code=303)


routes = [
    Route("/console/login", login, methods=["GET", "POST"], name="console_login"),
    Route("/console/password", password, methods=["GET", "POST"], name="console_password"),
    Route("/console/logout", logout, methods=["POST"], name="console_logout"),
]
