"""The front page (the window's name, log in, register) and an enterprise's dashboard: its
latest declarations and certificates with their statuses."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import SwnodeError
from node.web.pages.labels import CERTIFICATE_LABELS, STATUS_LABELS
from node.web.refusals import refusal
from node.web.visit import Visit, page
from swf.v1 import certificates_pb2 as cpb
from swf.v1 import declarations_pb2 as dpb

__all__ = ["routes"]

DASHBOARD_SIZE = 20


@page()
async def front(visit: Visit) -> Response:
    if visit.signed_in is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return visit.render(
        "front.html", logged_out=visit.request.query_params.get("logged_out") == "1"
    )


@page(signed_in=True)
async def dashboard(visit: Visit) -> Response:
    assert visit.signed_in is not None
    claims = visit.signed_in.claims
    declarations: list[dpb.Declaration] = []
    certificates: list[cpb.CertificateRecord] = []
    problem = ""
    if claims.party_kind == "enterprise":
        node = visit.portal.node
        try:
            listed = await node.declarations.list_declarations(
                claims, dpb.ListDeclarationsRequest(page_size=DASHBOARD_SIZE)
            )
            declarations = list(listed.declarations)
            issued = await node.certificates.list_certificates(
                claims, cpb.ListCertificatesRequest(limit=DASHBOARD_SIZE)
            )
            certificates = list(issued.certificates)
        except SwnodeError as exc:
            problem = refusal(exc, visit.locale)
    return visit.render(
        "dashboard.html",
        claims=claims,
        declarations=declarations,
        certificates=certificates,
        status_labels=STATUS_LABELS,
        certificate_labels=CERTIFICATE_LABELS,
        problem=problem,
    )


routes = [
    Route("/", front, name="front"),
    Route("/dashboard", dashboard, name="dashboard"),
]
