"""Certificates across the border, as the portal shows them, each through the same service as
the API: a certificate's page — where it is (delivered to the importing window, accepted,
used, …) and every event of its history (GetCertificate; another party's answers 404) — with
a form to cancel it for its issuing body (CancelCertificate) and a link to replace it with a
corrected application, the application's form generated from the catalog and filled in from
the certificate (ReplaceCertificate); and, for the importing window's agencies, verifying a
certificate by its number (VerifyCertificate)."""

from __future__ import annotations

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core.errors import NotFound, PermissionDenied, SwnodeError
from node.web.forms import as_values, bind_form, edit_rows, form_spec, form_values, parse_form
from node.web.forms.bind import BoundForm
from node.web.pages.documents import in_language, refusal_errors
from node.web.pages.labels import CERTIFICATE_LABELS
from node.web.refusals import refusal
from node.web.visit import FieldErrors, Visit, field_errors, page
from swf.v1 import certificates_pb2 as cpb

__all__ = ["routes"]

_FINAL = {"used", "replaced", "cancelled"}


def _cancellable(visit: Visit, record: cpb.CertificateRecord) -> bool:
    """The issuing body sees a cancel form on an issued certificate that is not final."""
    claims = visit.signed_in.claims if visit.signed_in else None
    return (
        claims is not None
        and record.side == "issued"
        and record.status not in _FINAL
        and claims.party == record.certificate.issuing_body
        and claims.issuer == record.certificate.issuing_node
    )


async def _detail(
    visit: Visit, number: str, *, errors: FieldErrors | None = None, status: int = 200
) -> Response:
    assert visit.signed_in is not None
    ref = cpb.CertificateRef(number=number[:64])
    try:
        record = await visit.portal.node.certificates.get(visit.signed_in.claims, ref)
    except NotFound:
        return visit.not_found()
    return visit.render(
        "certificates/detail.html",
        status_code=status,
        record=record,
        certificate_labels=CERTIFICATE_LABELS,
        cancellable=_cancellable(visit, record),
        errors=errors or {},
    )


@page(signed_in=True)
async def certificate(visit: Visit) -> Response:
    return await _detail(visit, visit.request.path_params["number"])


@page(signed_in=True)
async def cancel(visit: Visit) -> Response:
    assert visit.signed_in is not None
    number = visit.request.path_params["number"][:64]
    form = await visit.form()
    request = cpb.CancelCertificateRequest(number=number, reason=form.get("reason", "").strip())
    try:
        await visit.portal.node.certificates.cancel(visit.signed_in.claims, request)
    except NotFound:
        return visit.not_found()
    except SwnodeError as exc:
        errors = field_errors(exc, "reason", visit.locale)
        return await _detail(visit, number, errors=errors, status=400)
    return RedirectResponse(f"/certificates/{number}", status_code=303)


@page(signed_in=True)
async def verify(visit: Visit) -> Response:
    """By number and issuing country, as the importing window's agencies check one."""
    assert visit.signed_in is not None
    query = visit.request.query_params
    values = {
        "number": query.get("number", "").strip()[:64],
        "country": (query.get("country", "").strip() or "CN")[:2].upper(),
    }
    checked: cpb.Verification | None = None
    if values["number"]:
        ref = cpb.CertificateRef(number=values["number"], issuing_country=values["country"])
        try:
            checked = await visit.portal.node.certificates.verify(visit.signed_in.claims, ref)
        except PermissionDenied as exc:
            return visit.refuse(403, "Verify a certificate", refusal(exc, visit.locale))
    return visit.render(
        "certificates/verify.html",
        values=values,
        errors={},
        checked=checked,
        certificate_labels=CERTIFICATE_LABELS,
    )


_APPLICATION = {
    "origin": "certificate_of_origin_application",
    "phytosanitary": "phytosanitary_certificate_application",
}


@page(signed_in=True)
async def replace_form(visit: Visit) -> Response:
    """The corrected application, as the form of its document type; on a good one, the new
    certificate's page."""
    assert visit.signed_in is not None
    number = visit.request.path_params["number"][:64]
    try:
        record = await visit.portal.node.certificates.get(
            visit.signed_in.claims, cpb.CertificateRef(number=number)
        )
    except NotFound:
        return visit.not_found()
    if not _cancellable(visit, record):
        return visit.not_found()
    content = record.certificate.WhichOneof("content")
    if content is None:
        return visit.not_found()
    document_type = _APPLICATION[content]
    spec = form_spec(document_type, visit.locale)
    if visit.request.method == "GET":
        values = form_values(getattr(record.certificate, content))
        return _replace_page(visit, record, bind_form(spec, values), {})
    data = await visit.request.form()
    reason = str(data.get("reason", "")).strip()
    edit = edit_rows(spec, data)
    if edit is not None:
        return _replace_page(visit, record, bind_form(spec, edit.values, focus=edit.focus), {})
    message, errors = parse_form(document_type, data)
    if not errors:
        request = cpb.ReplaceCertificateRequest(number=number, reason=reason)
        getattr(request, content).CopyFrom(message)
        try:
            new = await visit.portal.node.certificates.replace(visit.signed_in.claims, request)
        except SwnodeError as exc:
            errors = refusal_errors(document_type, data, exc)
        else:
            return RedirectResponse(f"/certificates/{new.certificate.number}", status_code=303)
    form = bind_form(spec, as_values(data), in_language(errors, visit.locale))
    return _replace_page(visit, record, form, {"reason": reason}, status=422)


def _replace_page(
    visit: Visit,
    record: cpb.CertificateRecord,
    form: BoundForm,
    values: dict[str, str],
    status: int = 200,
) -> Response:
    return visit.render(
        "certificates/replace.html", status_code=status, record=record, form=form, values=values
    )


routes = [
    Route("/certificates/verify", verify, name="verify_certificate"),
    Route("/certificates/{number}", certificate, name="certificate"),
    Route("/certificates/{number}/cancel", cancel, methods=["POST"], name="cancel_certificate"),
    Route(
        "/certificates/{number}/replace",
        replace_form,
        methods=["GET", "POST"],
        name="replace_certificate",
    ),
]
