"""Sign-off (R26): the customer signs the report they were shown, with their own hand and,
in the strong form, with a one-time code sent to their own phone. Forging or signing for the
customer is forbidden, so the only way to the sign-off transition is through here."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from fieldops import clock
from fieldops.privacy import mask_phone

from ..errors import CodeNeeded, RuleViolation
from ..events import OrderAction
from ..images import files_discarded_on_error, remember_stored
from ..lifecycle import User, check_allowed, own_step, record_event, require, transition
from ..messages import sms_customer
from ..models import (
    CompletionReport,
    Kind,
    Signature,
    SignOffCode,
    SignOffMethod,
    State,
    WorkOrder,
    report_hash,
)
from ..sealing import (
    SIGN_OFF_CODE_MINUTES,
    SIGN_OFF_CODES_PER_HOUR,
    check_code,
    code_hmac,
    ink_fingerprint,
    refuse_replayed,
    signature_png,
    signature_strokes,
)
from ..visit_parts import check_sign_off


def signed_report(order: WorkOrder) -> CompletionReport:
    report = CompletionReport.objects.filter(order=order).first()
    if report is None or not report.work_done.strip():
        raise RuleViolation(_("Write the report first: the customer signs what was done "
                              "(R26, R27)."), field="report", rule="R26")
    if order.kind == Kind.REPAIR and not report.fault_cause:
        raise RuleViolation(_("Record the fault cause of a repair (R25)."),
                            field="fault_cause", rule="R25")
    check_sign_off(order)  # the visit's phases: checklist, readings, charges (visit_parts)
    return report


def work_order_send_sign_off_code(*, order: WorkOrder, by: User) -> SignOffCode:
    """R26 strong form: send a one-time code to the customer's phone. The SMS names the
    order and the work done, so the customer reads on their own phone what they sign.
    Only the code's HMAC is kept; a new code replaces the previous one."""
    with transaction.atomic():
        locked = own_step(order, by, OrderAction.SEND_SIGN_OFF_CODE, [State.ON_SITE])
        report = signed_report(locked)
        now = clock.now()
        recent = SignOffCode.objects.filter(order=locked,
                                            created_at__gte=now - dt.timedelta(hours=1))
        if recent.count() >= SIGN_OFF_CODES_PER_HOUR:
            raise RuleViolation(_("Too many codes sent for this order; wait a while or let "
                                  "the customer sign by hand."), field="code", rule="R26")
        SignOffCode.objects.filter(order=locked, used_at__isnull=True).update(
            expires_at=now)
        code = f"{secrets.randbelow(1_000_000):06d}"
        row = SignOffCode.objects.create(
            order=locked, code_hash=code_hmac(locked, code), sent_to=locked.contact_phone,
            created_at=now, expires_at=now + dt.timedelta(minutes=SIGN_OFF_CODE_MINUTES))
        values = {"code": code, "number": locked.number, "work": report.work_done[:60],
                  "minutes": SIGN_OFF_CODE_MINUTES}
        sms_customer(
            locked, kind="sign_off_code",
            body=lambda: _("Code %(code)s signs off order %(number)s (%(work)s). Give it "
                           "to the technician only if you agree. Valid %(minutes)s minutes.")
            % values,
            params=values,
            dedupe_key=f"r26-code:{row.pk}")
        record_event(order=locked, by=by, action=OrderAction.SEND_SIGN_OFF_CODE,
                     from_state=locked.state, to_state=locked.state, at=now,
                     payload={"sent_to": mask_phone(locked.contact_phone)})
    return row


def _sign_off(*, order: WorkOrder, by: User, method: str,
              evidence: dict[str, Any]) -> WorkOrder:
    """R26: the sign-off transition. Private on purpose: the only way to it is
    ``work_order_customer_sign_off``, which captures the customer's own drawn signature
    (and the SMS code, the strong form) and binds it to the order, the time and the
    report's hash, so nobody can sign for the customer."""
    if method not in SignOffMethod.values:
        raise RuleViolation(_("Unknown sign-off method %(method)s.") % {"method": method},
                            field="method", rule="R26")
    return transition(order, OrderAction.SIGN_OFF, by=by,
                       payload={"method": method, "verified": True, **evidence})


def work_order_customer_sign_off(*, order: WorkOrder, by: User, signature: str | bytes,
                                 signer_name: str, rating: int, strokes: Any,
                                 comment: str = "", code: str = "",
                                 user_agent: str = "") -> Signature:
    """R26: the customer signs the report they were shown, with their own hand (a drawing
    on the technician's screen) and, in the strong form, with the code sent to their own
    phone. The signature is bound to the order, the time and the report's hash (which
    covers the visit's photos) and sealed with an HMAC; completion later files only that
    report. Where ``SIGN_OFF_REQUIRE_SMS_CODE`` is set, the code is required.

    ``strokes``: how the drawing was made (``sealing.signature_strokes``); a signature with
    no strokes, or whose drawing is already bound to another order, is refused."""
    require(signer_name, _("Write the name of the person signing (R26)."),
             field="signer_name", rule="R26")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise RuleViolation(_("The customer rates the visit from 1 to 5."), field="rating",
                            rule="R26")
    png = signature_png(signature)
    drawn = signature_strokes(strokes)
    sha256, fingerprint = hashlib.sha256(png).hexdigest(), ink_fingerprint(png)
    refuse_replayed(order=order, sha256=sha256, fingerprint=fingerprint)
    code = (code or "").strip()
    if not code and getattr(settings, "SIGN_OFF_REQUIRE_SMS_CODE", False):
        raise CodeNeeded(_("Type in the code sent to the customer's phone (R26)."),
                         field="code", rule="R26")
    check_allowed(order, OrderAction.SIGN_OFF, by)
    report = signed_report(order)
    checked = check_code(order, code) if code else None
    method = SignOffMethod.SMS_CODE if checked else SignOffMethod.DRAWN
    with files_discarded_on_error(), transaction.atomic():
        if checked is not None:
            # The code's own times are the server's (its lifetime is real time), also for
            # a sign-off drawn offline and finished with the code later (replayed at the
            # time it was drawn, ``workorders.offline``).
            claimed = SignOffCode.objects.filter(pk=checked.pk, used_at__isnull=True).update(
                used_at=clock.received())
            if not claimed:
                raise RuleViolation(_("The code was used already; send a new one."),
                                    field="code", rule="R26")
        digest = report_hash(order, report.as_dict())
        signed = _sign_off(
            order=order, by=by, method=method,
            evidence={"report_hash": digest, "rating": rating, "signer_name": signer_name,
                      "code_verified": checked is not None})
        signature_row = Signature(
            order=signed, method=method, image_sha256=sha256, ink_hash=fingerprint,
            strokes=drawn,
            signer_name=signer_name.strip(), rating=rating, comment=comment.strip(),
            report_hash=digest, signed_at=signed.updated_at,
            code_verified_at=(None if checked is None
                              else clock.received() if clock.replaying() else signed.updated_at),
            code_sent_to=checked.sent_to if checked else "", captured_by=by,
            user_agent=user_agent[:255])
        signature_row.seal = signature_row.expected_seal()
        signature_row.image.save(f"signature-{signed.pk}-{signed.version}.png",
                                 ContentFile(png), save=False)
        remember_stored(signature_row.image)
        signature_row.save()
    return signature_row

