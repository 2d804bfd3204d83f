"""The customer's page after an outage's repair (``/o/<token>/``, no login, R54): "is your
service back?". Thin: ``outages.links`` checks the token, ``outages.services.answer``
closes the order or sends it back to dispatch."""

from __future__ import annotations

import contextlib

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from outages import links, services
from outages.models import Link


def _refused(request: HttpRequest, error: links.LinkError) -> HttpResponse:
    return render(request, "outage/invalid.html", {"error": error}, status=error.status)


@never_cache
@csrf_protect
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the question (or the thanks, once answered). POST ``service_back=yes|no``."""
    try:
        link = links.resolve(token, for_use=request.method == "POST")
    except links.LinkError as error:
        return _refused(request, error)
    status = 200
    problem = ""
    if request.method == "POST":
        choice = request.POST.get("service_back", "")
        if choice in ("yes", "no"):
            # Answered a moment ago, in another tab: the thanks below.
            with contextlib.suppress(services.AlreadyAnswered):
                services.answer(link, service_back=choice == "yes")
            return redirect("outage:answer", token=token)
        status = 400
        problem = "choose"
    context = {"link": link, "order": link.order, "outage": link.outage,
               "waiting": link.state == Link.ASKED, "error": problem}
    return render(request, "outage/answer.html", context, status=status)
