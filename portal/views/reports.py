"""The customer's copy of the signed report behind the signed SMS link (``/r/<token>/``,
no login) and its PDF (R26, R45-R48), with the customer's own receipt links (R47).
Read-only: ``reports.links`` checks the token, ``reports.copy`` reads, ``reports.pdf``
prints."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from reports import copy, links


def _refused(request: HttpRequest, error: links.LinkError) -> HttpResponse:
    return render(request, "customer/invalid.html", {"error": error}, status=error.status)


@never_cache
@require_safe
def signed_copy(request: HttpRequest, token: str) -> HttpResponse:
    try:
        signature = links.resolve(token)
    except links.LinkError as error:
        return _refused(request, error)
    response = render(request, "report/copy.html",
                      copy.context(signature, pdf_url=links.pdf_url(token),
                                   for_customer=True))
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_safe
def signed_pdf(request: HttpRequest, token: str) -> HttpResponse:
    try:
        signature = links.resolve(token)
    except links.LinkError as error:
        return _refused(request, error)
    from reports import pdf  # reportlab only where a PDF is made

    return pdf.pdf_response(copy.copy_of(signature, for_customer=True))
