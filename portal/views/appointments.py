"""The customer's appointment page behind the signed SMS link (``/c/<token>/``, no login):
see the booking, confirm it, or ask for another time (R10). Thin: ``appointments.links``
checks the token, ``appointments.services`` writes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from appointments import links, services
from appointments.messages import window_text
from fieldops.privacy import mask_phone
from planning.eta import Eta, order_eta
from portal.forms import ChangeRequestForm
from workorders.errors import DomainError


def eta_text(eta: Eta | None) -> str:
    """The arrival window in the customer's words: "10:20–10:40", with the day when it is
    not today."""
    if eta is None:
        return ""
    start, end = timezone.localtime(eta.start), timezone.localtime(eta.end)
    text = f"{start:%H:%M}–{end:%H:%M}"
    if start.date() != timezone.localdate():
        text = f"{start:%m-%d} {text}"
    return text


def _refused(request: HttpRequest, error: links.LinkError) -> HttpResponse:
    return render(request, "customer/invalid.html", {"error": error},
                  status=error.status)


@never_cache
@csrf_protect
def appointment(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the booking. POST ``action=confirm`` or ``action=change`` (with a time)."""
    try:
        link = links.resolve(token)
    except links.LinkError as error:
        return _refused(request, error)
    form = ChangeRequestForm()
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("action") == "confirm":
                services.appointment_confirm_by_link(token=token)
                return redirect("customer:appointment", token=token)
            form = ChangeRequestForm(request.POST)
            if form.is_valid():
                services.appointment_request_change_by_link(
                    token=token, preferred_start=form.cleaned_data["preferred_start"],
                    preferred_end=form.cleaned_data["preferred_end"],
                    note=form.cleaned_data["note"])
                return redirect("customer:appointment", token=token)
            status = 400
        except links.LinkError as error:
            return _refused(request, error)
        except DomainError as error:
            form.add_error(None, error.message)
            status = error.status
    booking = link.appointment
    order = booking.order
    technician = order.technician
    # R13, R14: when the technician should be at the door (``planning.eta``)
    eta = order_eta(order) if booking.status == "booked" else None
    context = {
        "link": link, "booking": booking, "order": order, "form": form,
        "window": window_text(booking),
        "technician": technician.display_name if technician else "",
        "technician_phone": technician.phone if technician else "",
        "eta": eta_text(eta),
        "eta_source": eta.source.label if eta else "",
        "phone": mask_phone(order.contact_phone),
        "usable": link.used_at is None and booking.status == "booked",
    }
    return render(request, "customer/appointment.html", context, status=status)
