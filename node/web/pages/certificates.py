"""A certificate that crosses the border, followed from the exporter's side: where it is
(delivered to the importing window, accepted, used, …) and every event of its history, read
through the same service as the API's GetCertificate; another party's answers 404."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from core.errors import NotFound
from node.web.pages.labels import CERTIFICATE_LABELS
from node.web.visit import Visit, page
from swf.v1 import certificates_pb2 as cpb

__all__ = ["routes"]


@page(signed_in=True)
async def certificate(visit: Visit) -> Response:
    assert visit.signed_in is not None
    ref = cpb.CertificateRef(number=visit.request.path_params["number"][:64])
    try:
        record = await visit.portal.node.certificates.get(visit.signed_in.claims, ref)
    except NotFound:
        return visit.not_found()
    return visit.render(
        "certificates/detail.html", record=record, certificate_labels=CERTIFICATE_LABELS
    )


routes = [Route("/certificates/{number}", certificate, name="certificate")]
