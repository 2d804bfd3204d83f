"""The words the offline script says on the technician's pages (issue 16), translated on
the server and handed to ``tech/offline.js`` as JSON (``{{ ""|offline_words|json_script }}``):
the script has no catalogue of its own. Counts come in the "one" and "other" forms, with
``%(count)s`` for the script to fill in (zh-Hans has one form, English two)."""

from __future__ import annotations

from collections.abc import Callable

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from fieldapp.offline import CUSTOMER_FIELDS, ONE_TAP, SESSION_ENDED, VISIT_SEQUENCE, replay_url
from fieldops import clock

register = template.Library()


def _forms(words: Callable[[int], str]) -> dict[str, str]:
    return {"one": words(1), "other": words(2)}


@register.simple_tag
def offline_words() -> dict[str, object]:
    """The replay URL, the steps that may be queued, and everything ``tech/offline.js``
    shows, in the page's language; "synced" is the time this page was rendered, in the
    operator's time zone."""
    from fieldapp.views import STEPS  # the pages' steps (views load this library's templates)

    synced = timezone.localtime(clock.now()).strftime("%H:%M")
    return {
        "endpoint": replay_url(), "steps": list(VISIT_SEQUENCE), "one_tap": sorted(ONE_TAP),
        "customer_fields": list(CUSTOMER_FIELDS), "login": reverse("tech:login"),
        "ended": SESSION_ENDED,
        "labels": {name: str(STEPS[name].label) for name in VISIT_SEQUENCE if name in STEPS},
        "banner": _("Offline, last synced %(time)s") % {"time": synced},
        "waiting": _forms(lambda n: ngettext("%(count)s step waiting to send",
                                             "%(count)s steps waiting to send", n)),
        "lost": _forms(lambda n: ngettext("%(count)s step has not been sent; it will be lost.",
                                          "%(count)s steps have not been sent; they will be "
                                          "lost.", n)),
        "saved": _("Saved on the phone: it is sent when the network is back."),
        "saved_at": _("saved at %(time)s"),
        "needs_network": _("This needs the network. Try again when the phone has signal."),
        "not_sent": _("Not sent"),
        "dismiss": _("Dismiss"),
        "earlier_refused": _("An earlier step of this order was refused, so this one was "
                             "not sent."),
        # A sign-off drawn offline that waits for the code sent to the customer (R26).
        "held": _("Waiting for the customer's code"),
        "code": _("Code from the customer's SMS"),
        "finish": _("Finish the sign-off"),
        "new_code": _("Send a new code"),
        "todo": {
            "conflict": _("The order changed while you were offline. Open the order and do "
                          "the step again if it still applies."),
            "forbidden": _("This order is no longer yours. Call the dispatcher if you "
                           "think that is wrong."),
            "rule": _("Open the order and do the step again when it is possible."),
            "invalid": _("Something filled in was not accepted. Do the step again."),
        },
    }
