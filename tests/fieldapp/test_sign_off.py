"""The customer's sign-off (R26) and the completion report (R25, R27): drawn by the
customer, bound to the order, the time and the report's hash; the SMS code as the strong
form; the report filed is the report signed."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation
from PIL import Image, PngImagePlugin

from notifications.models import Notification
from workorders import services
from workorders.errors import IllegalTransition, RuleViolation
from workorders.events import OrderAction
from workorders.models import Signature, SignOffMethod, State, WorkOrder, report_hash

from .helpers import STROKES, STROKES_JSON, on_site_with_report, signature_png


@pytest.fixture(autouse=True)
def _english() -> object:
    """Messages are matched in English (the product's default language is zh-Hans)."""
    with translation.override("en"):
        yield


def sign(order: WorkOrder, **kwargs):
    values = {"signature": signature_png(), "signer_name": "张伟", "rating": 5,
              "strokes": STROKES}
    values.update(kwargs)
    return services.work_order_customer_sign_off(order=order, by=order.technician.user,
                                                 **values)


def sent_code(order: WorkOrder) -> str:
    body = Notification.objects.filter(order=order, kind="sign_off_code").latest("id").body
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_the_drawn_signature_is_bound_to_the_order_the_time_and_the_report(make_order,
                                                                          alice):
    # R26
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    signature = sign(order, comment="师傅很专业")
    order.refresh_from_db()
    assert order.state == State.SIGNED_OFF
    assert signature.method == SignOffMethod.DRAWN and signature.rating == 5
    assert signature.report_hash == report_hash(order, order.report.as_dict())
    assert signature.signed_at == order.updated_at
    assert signature.seal_valid
    event = order.events.get(action=OrderAction.SIGN_OFF)
    assert event.payload["verified"] is True
    assert event.payload["report_hash"] == signature.report_hash


def test_an_altered_signature_record_breaks_its_seal(make_order, alice):
    # R26: forging after the fact is visible
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    signature = sign(order)
    Signature.objects.filter(pk=signature.pk).update(report_hash="0" * 64)
    assert not Signature.objects.get(pk=signature.pk).seal_valid


def test_an_empty_or_missing_signature_is_refused(make_order, alice):
    # R26
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    for bad in (signature_png(blank=True), "", "data:image/png;base64,!!!",
                "data:image/jpeg;base64,AAAA"):
        with pytest.raises(RuleViolation) as err:
            sign(order, signature=bad)
        assert err.value.field == "signature"
    order.refresh_from_db()
    assert order.state == State.ON_SITE and not order.signatures.exists()


def test_the_customer_signs_a_report_not_an_empty_page(make_order, alice):
    # R26, R27; R25 for repairs
    order = make_order(State.ON_SITE, technician=alice)
    with pytest.raises(RuleViolation) as err:
        sign(order)
    assert err.value.field == "report"


def test_the_sms_code_is_the_strong_form(make_order, alice):
    # R26
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    services.work_order_send_sign_off_code(order=order, by=alice.user)
    note = Notification.objects.get(kind="sign_off_code")
    assert note.address == order.contact_phone and order.number in note.body
    code = sent_code(order)
    assert code not in str(list(order.events.values_list("payload", flat=True)))
    signature = sign(order, code=code)
    assert signature.method == SignOffMethod.SMS_CODE
    assert signature.code_verified_at == signature.signed_at and signature.seal_valid


def test_a_wrong_code_is_refused_and_a_few_burn_it(make_order, alice):
    # R26: nobody signs for the customer without the customer's phone
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    services.work_order_send_sign_off_code(order=order, by=alice.user)
    code = sent_code(order)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(RuleViolation, match="not the one"):
            sign(order, code=wrong)
    with pytest.raises(RuleViolation, match="Too many"):
        sign(order, code=code)
    order.refresh_from_db()
    assert order.state == State.ON_SITE


def test_an_expired_or_replaced_code_is_refused(make_order, alice):
    # R26
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    services.work_order_send_sign_off_code(order=order, by=alice.user)
    first = sent_code(order)
    with time_machine.travel(dt.timedelta(minutes=11)), pytest.raises(RuleViolation):
        sign(order, code=first)
    services.work_order_send_sign_off_code(order=order, by=alice.user)
    second = sent_code(order)
    if first != second:
        with pytest.raises(RuleViolation):
            sign(order, code=first)
    assert sign(order, code=second).method == SignOffMethod.SMS_CODE


def test_operators_can_require_the_sms_code(make_order, alice, settings):
    # R26
    settings.SIGN_OFF_REQUIRE_SMS_CODE = True
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    with pytest.raises(RuleViolation) as err:
        sign(order)
    assert err.value.field == "code"


def test_the_report_cannot_change_after_the_customer_signed(make_order, alice):
    # R26
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    sign(order)
    order.refresh_from_db()
    with pytest.raises(IllegalTransition):
        services.work_order_save_report(order=order, by=alice.user, work_done="别的")
    report = order.report.as_dict()
    with pytest.raises(RuleViolation) as err:
        services.work_order_complete(order=order, by=alice.user,
                                     report={**report, "download_mbps": 1000})
    assert err.value.rule == "R26"


def test_completion_files_the_signed_report_and_starts_the_survey(
        make_order, alice, django_capture_on_commit_callbacks):
    # R27, R29
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice),
                                outstanding_issue="客户问 IPTV 账号, 已转客服")
    sign(order)
    order.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        order = services.work_order_complete(order=order, by=alice.user,
                                             report=order.report.as_dict())
    order.refresh_from_db()
    assert order.state == State.SURVEY_PENDING  # the survey task ran (eager in tests)
    assert order.report.filed_at is not None and order.report.filed_by == alice.user
    assert order.report.has_outstanding_issue


def test_a_repair_report_needs_the_fault_cause(make_order, alice):
    # R25
    order = make_order(State.ON_SITE, technician=alice, kind="repair")
    with pytest.raises(RuleViolation) as err:
        services.work_order_save_report(order=order, by=alice.user, work_done="更换尾纤")
    assert err.value.rule == "R25"


def test_sign_off_from_the_page(alice_client: Client, make_order, alice):
    # R26: the page shows what is signed and posts the drawing
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    url = reverse("tech:step", args=[order.pk, "sign-off"])
    page = alice_client.get(url).content.decode()
    assert order.report.work_done in page and "data-signature" in page
    response = alice_client.post(url, {"version": order.version, "signer_name": "张伟",
                                       "rating": "4", "signature": ""})
    assert response.status_code == 422  # not drawn
    response = alice_client.post(url, {"version": order.version, "signer_name": "张伟",
                                       "rating": "4", "signature": signature_png(),
                                        "strokes": STROKES_JSON},
                                 HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14)")
    assert response.status_code == 302
    signature = Signature.objects.get(order=order)
    assert signature.user_agent.startswith("Mozilla") and signature.captured_by == alice.user


def test_the_admin_shows_how_each_order_was_signed(make_order, alice, dispatcher):
    # R26
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    sign(order)
    client = Client()
    client.force_login(dispatcher)
    page = client.get(reverse("admin:workorders_workorder_change", args=[order.pk]),
                      HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert "data:image/png;base64," in text
    with translation.override("en"):
        assert html.escape(str(SignOffMethod.DRAWN.label)) in text and "intact" in text


def test_a_signature_copied_from_another_order_is_refused(make_order, alice):
    # R26: the same drawing bound to a second order is a replay, byte for byte or re-saved
    first = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    drawing = signature_png(seed=7)
    sign(first, signature=drawing)
    second = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    with pytest.raises(RuleViolation, match="copy of the one on order"):
        sign(second, signature=drawing)
    # Re-encoded with a white background and a border: the same drawing all the same.
    with Image.open(io.BytesIO(base64.b64decode(drawing.split(",", 1)[1]))) as img:
        padded = Image.new("RGBA", (img.width + 40, img.height + 40), "white")
        padded.alpha_composite(img.convert("RGBA"), (20, 20))
    out = io.BytesIO()
    padded.save(out, "PNG")
    resaved = "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    with pytest.raises(RuleViolation, match="copy of the one on order"):
        sign(second, signature=resaved)
    assert WorkOrder.objects.get(pk=second.pk).state == State.ON_SITE
    sign(second)  # the customer's own drawing is taken


def test_a_replayed_signature_is_refused_with_the_sms_code_too(make_order, alice, settings):
    # R26: the code proves the phone, not the hand; the copy is refused all the same
    settings.SIGN_OFF_REQUIRE_SMS_CODE = True
    first = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    services.work_order_send_sign_off_code(order=first, by=alice.user)
    drawing = signature_png(seed=8)
    sign(first, signature=drawing, code=sent_code(first))
    second = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    services.work_order_send_sign_off_code(order=second, by=alice.user)
    with pytest.raises(RuleViolation, match="copy of the one on order"):
        sign(second, signature=drawing, code=sent_code(second))


@pytest.mark.parametrize("strokes", [[], "", "[]", [[[1, 2, 0]]], "not json",
                                     [[["x", 2, 0], [3, 4, 5]]], {"a": 1}])
def test_a_signature_without_strokes_is_refused(make_order, alice, strokes):
    # R26: an image with no drawing behind it (pasted, not drawn on this screen)
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    with pytest.raises(RuleViolation, match="not drawn on this screen"):
        sign(order, strokes=strokes)
    assert WorkOrder.objects.get(pk=order.pk).state == State.ON_SITE


def test_the_strokes_are_kept_with_the_signature(make_order, alice):
    # R26: how it was drawn is part of the evidence
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    signature = sign(order)
    assert signature.strokes == STROKES and len(signature.ink_hash) == 64


def test_the_signature_is_stored_re_encoded_without_what_came_with_it(make_order, alice):
    # Defect: the signature PNG was stored as uploaded: its EXIF (with GPS), text chunks
    # and bytes appended after the image's end were kept in the order's record.
    drawn = base64.b64decode(signature_png().split(",", 1)[1])
    img = Image.open(io.BytesIO(drawn))
    exif = Image.Exif()
    exif[0x8825] = {2: (39.0, 54.0, 0.0)}  # GPSInfo: GPSLatitude
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "private note")
    img.save(out, "PNG", exif=exif.tobytes(), pnginfo=info)
    upload = out.getvalue() + b"APPENDED-SECRET"
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    signature = sign(order, signature="data:image/png;base64," + base64.b64encode(upload)
                     .decode())
    with signature.image.open("rb") as f:
        stored = f.read()
    assert b"APPENDED-SECRET" not in stored and b"eXIf" not in stored
    assert b"private note" not in stored
    kept = Image.open(io.BytesIO(stored))
    assert kept.format == "PNG" and kept.size == img.size and not kept.getexif()
    assert kept.convert("RGBA").tobytes() == img.convert("RGBA").tobytes()
    assert signature.image_sha256 == hashlib.sha256(stored).hexdigest()


def test_a_signature_declaring_too_many_pixels_is_refused(make_order, alice, settings):
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    settings.IMAGE_MAX_PIXELS = 50_000  # the drawing is 360×200
    with pytest.raises(RuleViolation) as refused:
        sign(order)
    assert refused.value.field == "signature" and "pixels" in refused.value.message


def test_the_signer_name_refuses_hidden_characters_and_the_comment_loses_them(
        alice_client: Client, make_order, alice):
    # Defect: the name of the person signing took a right-to-left override as typed.
    order = on_site_with_report(make_order(State.ON_SITE, technician=alice))
    url = reverse("tech:step", args=[order.pk, "sign-off"])
    data = {"version": order.version, "signer_name": "张\u202e伟", "rating": "4",
            "comment": "很好\u200b\u2066", "signature": signature_png(),
            "strokes": STROKES_JSON}
    with translation.override("en"):
        response = alice_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in html.unescape(response.content.decode())
    assert not Signature.objects.filter(order=order).exists()
    data["signer_name"] = "张伟"
    assert alice_client.post(url, data).status_code == 302
    assert Signature.objects.get(order=order).comment == "很好"
