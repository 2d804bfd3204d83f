"""The customer's copy of the signed report: texted after completion, at a signed link,
showing every sealed part and the signature with its time, saying whether the seal still
holds; the same copy for the technician and the office; the printable PDF (R26, R45, R46,
R47, R48). Below the signature, the payment and its receipt (R47), not sealed."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from pypdf import PdfReader

from appointments import links as booking_links
from appointments.models import CustomerLink
from charges import links as charge_links
from charges import services as charges
from charges.models import Payment
from fieldops import clock
from fieldops.signed_links import mask_links, sign
from notifications.models import Notification
from reports import links
from tests.charges.conftest import prices  # noqa: F401
from visits.models import Source, TestResult
from workorders.models import Face, PiiAccess, Signature, WorkOrder
from workorders.visit_parts import sealed_parts

from .conftest import complete, visit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    """Read in English here (the site's language is zh-Hans; the browser tests read both)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def link_path(signature: Signature) -> str:
    return urlsplit(links.absolute_url(signature)).path


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def signed_time(signature: Signature) -> str:
    return timezone.localtime(signature.signed_at).strftime("%Y-%m-%d %H:%M")


def test_completion_texts_the_customer_the_link_to_their_copy(completed, client):
    # R26: one SMS with the signed link, through the outbox
    order, signature = completed
    [sms] = Notification.objects.filter(kind="signed_report", channel="sms")
    assert sms.address == order.contact_phone and sms.params["number"] == order.number
    url = sms.params["url"]
    assert url.startswith(settings.PUBLIC_URL + "/r/") and url in sms.body
    # the token carries the time it was made: compare what it names, not its text (a
    # second ticking between the SMS and this line must not fail the test)
    token = urlsplit(url).path.split("/")[2]
    assert links.resolve(token) == signature
    # staff screens that show what was sent do not hand out the customer's link
    assert token not in mask_links(sms.body)
    response = client.get(urlsplit(sms.params["url"]).path, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "private" in response["Cache-Control"] and "no-store" in response["Cache-Control"]


def test_the_copy_shows_every_sealed_part_and_the_signature_time(completed, client):
    # R26, R45, R46, R48: the order, the checklist, serials, materials, readings and the
    # signature drawn by the customer with its time; the seal holds
    order, signature = completed
    page = client.get(link_path(signature)).content.decode()
    parts = sealed_parts(order)
    assert set(parts) >= {"checklist", "tests", "equipment", "materials"}
    for name in parts:
        assert f'data-part="{name}"' in page
    assert order.number in page and "ZTEG00000001" in page and "ZTE F670L" in page
    assert "皮线光缆 drop fibre" in page and "30.5 metres" in page
    assert "Try-out and explanation" in page and "Clean-up" in page
    assert signed_time(signature) in page and "张伟" in page
    assert 'src="data:image/png;base64,' in page
    assert 'data-seal="intact"' in page
    # internal names and raw values stay out (no JSON, no codes)
    for raw in ("{&quot;", "{'", "tryout", "rx_power", "ZTE-F670L", "FIB-DROP"):
        assert raw not in page


def test_the_copy_says_which_reading_came_from_the_network(completed, client):
    # R48: the network's reading is labelled as such; a typed one as typed
    order, signature = completed
    sources = set(TestResult.objects.filter(order=order).values_list("source", flat=True))
    assert sources == {Source.NETWORK, Source.TYPED}
    page = client.get(link_path(signature)).content.decode()
    assert "From the operator&#x27;s network, not typed" in page
    assert "Typed by the technician" in page


def test_a_row_changed_after_signing_shows_the_seal_broken(completed, client):
    # R26, R46: 30.5 m of fibre signed, 3.5 m written straight to the database afterwards
    order, signature = completed
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_materialuse SET quantity = 3.5 WHERE order_id = %s "
                       "AND quantity = 30.5", [order.pk])
        assert cursor.rowcount == 1
    page = client.get(link_path(signature)).content.decode()
    assert 'data-seal="broken"' in page and "The seal is broken" in page
    text = pdf_text(client.get(links.pdf_url(links.token_for(signature))).content)
    assert "The seal is broken" in text


def test_the_pdf_holds_serials_materials_readings_totals_and_the_signature_time(
        make_order, alice, stock, catalogue, charges_part, django_capture_on_commit_callbacks,
        client):
    # R26, R45, R46, R47, R48: the printable copy, read back as text
    order, signature = complete(visit(make_order, alice, catalogue),
                                django_capture_on_commit_callbacks)
    assert Signature.objects.get(pk=signature.pk).content_intact
    response = client.get(links.pdf_url(links.token_for(signature)))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    text = pdf_text(response.content)
    reading = TestResult.objects.get(order=order, source=Source.NETWORK)
    for expected in (order.number, "ZTEG00000001", "30.5", "皮线光缆", f"{reading.value} dBm",
                     "From the operator's network", "Repair labour", "80.00", "Total",
                     "120.00", signed_time(signature), "张伟", "Sealed",
                     # R47: the warranty the customer keeps with the installed ONU
                     "Warranty until", "2028-01-01"):
        assert expected in text, expected


def test_a_part_without_its_own_template_is_shown_readably(
        make_order, alice, stock, catalogue, charges_part, django_capture_on_commit_callbacks,
        client):
    # R47: the fee lines (a later phase's part) are shown labelled, with their total
    _order, signature = complete(visit(make_order, alice, catalogue),
                                 django_capture_on_commit_callbacks)
    page = client.get(link_path(signature)).content.decode()
    assert 'data-part="extras"' in page
    assert "Repair labour" in page and "Amount" in page and "120.00" in page
    assert "data-total" in page
    assert "&quot;" not in page.split('data-part="extras"')[1].split("</section>")[0]
    assert ">7<" not in page  # the line's id is no business of the customer's


def test_a_bad_link_is_404_and_an_old_one_410(completed, client):
    # like the booking and survey links: tampered, unknown or foreign 404; expired 410
    _order, signature = completed
    token = links.token_for(signature)
    assert client.get(reverse("report:copy", args=[token[:-2] + "xx"])).status_code == 404
    assert client.get(reverse("report:pdf", args=[token[:-2] + "xx"])).status_code == 404
    assert client.get(reverse("report:copy", args=[sign(links.SALT, signature.pk + 999, "x")])
                      ).status_code == 404
    # the right id with a made-up nonce: refused
    assert client.get(reverse("report:copy", args=[sign(links.SALT, signature.pk, "0" * 16)])
                      ).status_code == 404
    booking = CustomerLink.objects.first()
    if booking is not None:  # a booking link's token is not a report link
        assert client.get(reverse("report:copy", args=[booking_links.token_for(booking)])
                          ).status_code == 404
    with time_machine.travel(clock.now() + links.max_age() + dt.timedelta(days=1)):
        response = client.get(reverse("report:copy", args=[token]))
        assert response.status_code == 410
        assert b'data-error="expired"' in response.content
        assert client.get(reverse("report:pdf", args=[token])).status_code == 410


def test_the_technician_sees_the_copy_of_their_own_order_only(completed, client, alice, bob):
    # R41
    order, _signature = completed
    client.force_login(alice.user)
    page = client.get(reverse("tech:order", args=[order.pk])).content.decode()
    assert reverse("tech:signed_report", args=[order.pk]) in page
    response = client.get(reverse("tech:signed_report", args=[order.pk]))
    assert response.status_code == 200 and b"ZTEG00000001" in response.content
    pdf = client.get(reverse("tech:signed_report_pdf", args=[order.pk]))
    assert "ZTEG00000001" in pdf_text(pdf.content)
    client.force_login(bob.user)
    assert client.get(reverse("tech:signed_report", args=[order.pk])).status_code == 404
    assert client.get(reverse("tech:signed_report_pdf", args=[order.pk])).status_code == 404


def test_the_office_opens_the_copy_from_the_order_page(completed, client, dispatcher):
    order, signature = completed
    client.force_login(dispatcher)
    page = client.get(reverse("admin:workorders_workorder_change", args=[order.pk]))
    url = reverse("admin:workorders_signature_report", args=[signature.pk])
    pdf_url = reverse("admin:workorders_signature_report_pdf", args=[signature.pk])
    assert url in page.content.decode() and pdf_url in page.content.decode()
    response = client.get(url)
    assert response.status_code == 200 and b"ZTEG00000001" in response.content
    assert "ZTEG00000001" in pdf_text(client.get(pdf_url).content)


def test_a_staff_or_technician_pdf_is_an_export_recorded_once_or_masked(
        completed, client, alice, dispatcher, supervisor):
    """R40: the downloaded PDF carries the signer's full name. Defect (issue 18): staff and
    technician downloads wrote no access record. Now whoever the policy shows full data
    (the order's technician, the dispatcher) gets it with one ``Face.EXPORT`` record
    (who, when, what, one row); a supervisor's copy carries the name masked, unrecorded.
    The customer's own copy (their signed link) records nothing."""
    order, signature = completed
    admin_pdf = reverse("admin:workorders_signature_report_pdf", args=[signature.pk])
    for user, url, where in ((alice.user, reverse("tech:signed_report_pdf", args=[order.pk]),
                              "export:tech-report-pdf"),
                             (dispatcher, admin_pdf, "export:admin-report-pdf")):
        client.force_login(user)
        text = pdf_text(client.get(url).content)
        assert "张伟" in text
        [record] = PiiAccess.objects.filter(user=user)
        assert (record.face, record.where, record.what, record.rows) == (
            Face.EXPORT, where, "name", 1)
        assert (record.order, record.customer_id) == (order, order.customer_id)
    client.force_login(supervisor)
    response = client.get(admin_pdf)
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "张伟" not in text and "张*" in text
    assert not PiiAccess.objects.filter(user=supervisor).exists()
    client.logout()
    before = PiiAccess.objects.count()
    assert "张伟" in pdf_text(client.get(links.pdf_url(links.token_for(signature))).content)
    assert PiiAccess.objects.count() == before


def test_someone_without_the_order_gets_no_copy(completed, client, alice):
    # a technician is no office user: the admin refuses
    _order, signature = completed
    client.force_login(alice.user)
    response = client.get(reverse("admin:workorders_signature_report", args=[signature.pk]))
    assert response.status_code in (302, 403, 404)


# --- The payment and its receipt (R47) ------------------------------------------------------

def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def charged_visit(make_order, alice, catalogue, captured, *, pay: bool
                  ) -> tuple[WorkOrder, Signature, Payment]:
    """A Wi-Fi router sold on site (¥159.00), the QR code shown before signing; when
    ``pay``, the customer pays three hours after the order was completed."""
    order = visit(make_order, alice, catalogue)
    charges.fee_line_add(order=order, by=alice.user, code="T-ROUTER")
    payment = charges.payment_request(order=order, by=alice.user)
    order, signature = complete(order, captured)
    if pay:
        with time_machine.travel(clock.now() + dt.timedelta(hours=3, minutes=7), tick=False):
            payment = charges.payment_confirm(payment=payment, via="customer page")
    payment.refresh_from_db()
    return order, signature, payment


def receipt_section(page: str) -> str:
    return page.split("data-receipt ")[1].split("</section>")[0]


def test_the_copy_shows_a_payment_made_after_signing_with_its_own_time(
        make_order, alice, stock, catalogue, prices, django_capture_on_commit_callbacks,  # noqa: F811
        client):
    # R47: the customer may pay after signing (here after completion): the copy shows the
    # amount, the payment's own time (not the signature's), its reference, how it was paid
    # and the link to the receipt, under a heading that says the signature does not cover
    # it; the seal still holds (the payment is no sealed part)
    order, signature, payment = charged_visit(make_order, alice, catalogue,
                                              django_capture_on_commit_callbacks, pay=True)
    assert payment.paid_at > order.completed_at > signature.signed_at
    assert local(payment.paid_at) not in (signed_time(signature), local(order.completed_at))
    page = client.get(link_path(signature)).content.decode()
    assert 'data-seal="intact"' in page
    assert 'data-part="charges"' in page and "Wi-Fi router" in page
    section = receipt_section(page)
    assert "Payment (not covered by the signature)" in section
    assert "¥159.00" in section and payment.reference in section
    assert f"data-paid-at>{local(payment.paid_at)}<" in section
    assert "confirmed on the customer&#x27;s payment page" in section
    assert "Not paid yet" not in section and "Still to pay" not in section
    found = re.search(r'href="(/rc/([^"/]+)/)" data-receipt-link', section)
    assert found is not None
    assert charge_links.resolve_receipt(found.group(2)) == payment  # the customer's own
    assert local(payment.paid_at) in client.get(found.group(1)).content.decode()
    # the signature is above the payment: what was signed comes first
    assert page.index("data-signature") < page.index("data-receipt ")


def test_the_pdf_holds_the_paid_amount_its_time_and_the_receipts_address(
        make_order, alice, stock, catalogue, prices, django_capture_on_commit_callbacks,  # noqa: F811
        client):
    # R47: the printable copy, read back as text
    _order, signature, payment = charged_visit(make_order, alice, catalogue,
                                               django_capture_on_commit_callbacks, pay=True)
    text = pdf_text(client.get(links.pdf_url(links.token_for(signature))).content)
    for expected in ("Payment (not covered by the signature)", "Amount paid", "¥159.00",
                     "Paid at", local(payment.paid_at), payment.reference,
                     "Sealed",
                     # the sealed fee line in the reader's language, not its field names
                     "Wi-Fi router", "Unit price", "159.00"):
        assert expected in text, expected
    for raw in ("Name zh", "Name en", "无线路由器", "Not paid yet"):
        assert raw not in text, raw
    # the receipt's address, whole (a long address wraps onto the next line)
    found = re.search(re.escape(settings.PUBLIC_URL) + r"/rc/([^/\s]+)/",
                      text.replace("\n", ""))
    assert found is not None
    assert charge_links.resolve_receipt(found.group(1)) == payment


def test_an_unpaid_charge_says_not_paid_yet(
        make_order, alice, stock, catalogue, prices, django_capture_on_commit_callbacks,  # noqa: F811
        client):
    # R47: charged and signed, the QR code not paid: the copy says so, with what is owed
    _order, signature, payment = charged_visit(make_order, alice, catalogue,
                                               django_capture_on_commit_callbacks, pay=False)
    assert payment.paid_at is None
    section = receipt_section(client.get(link_path(signature)).content.decode())
    assert "Not paid yet." in section and "data-balance>¥159.00<" in section
    assert "data-payment" not in section and "/rc/" not in section
    text = pdf_text(client.get(links.pdf_url(links.token_for(signature))).content)
    assert "Not paid yet." in text and "¥159.00" in text and "Amount paid" not in text


def test_without_charges_there_is_no_payment_section(completed, client):
    # R47: nothing charged, nothing to pay: no payment section at all
    _order, signature = completed
    page = client.get(link_path(signature)).content.decode()
    assert "data-receipt" not in page and "Payment (not covered" not in page
    text = pdf_text(client.get(links.pdf_url(links.token_for(signature))).content)
    assert "Payment" not in text and "Not paid yet" not in text


def test_staff_copies_show_the_payment_but_not_the_customers_receipt_link(
        make_order, alice, stock, catalogue, prices, django_capture_on_commit_callbacks,  # noqa: F811
        client, dispatcher):
    # R47, R40: the technician's and the office's copies show the amount and the time;
    # the receipt link acts as the customer and stays theirs (as ``mask_links``)
    order, signature, payment = charged_visit(make_order, alice, catalogue,
                                              django_capture_on_commit_callbacks, pay=True)
    token = charge_links.receipt_token(payment)
    for user, page_url, pdf_url in (
            (alice.user, reverse("tech:signed_report", args=[order.pk]),
             reverse("tech:signed_report_pdf", args=[order.pk])),
            (dispatcher, reverse("admin:workorders_signature_report", args=[signature.pk]),
             reverse("admin:workorders_signature_report_pdf", args=[signature.pk]))):
        client.force_login(user)
        section = receipt_section(client.get(page_url).content.decode())
        assert "¥159.00" in section and f"data-paid-at>{local(payment.paid_at)}<" in section
        assert "Texted to the customer" in section and token not in section
        text = pdf_text(client.get(pdf_url).content)
        assert local(payment.paid_at) in text and "¥159.00" in text
        assert token not in text and "/rc/" not in text


def test_a_refund_after_payment_shows_and_keeps_the_seal(
        make_order, alice, stock, catalogue, prices, django_capture_on_commit_callbacks,  # noqa: F811
        client, supervisor):
    # R47: a supervisor's refund is a later line, not sealed: the copy shows it with the
    # payment, and the customer's seal still holds
    order, signature, _payment = charged_visit(make_order, alice, catalogue,
                                               django_capture_on_commit_callbacks, pay=True)
    charges.fee_line_refund(line=order.fee_lines.get(), by=supervisor, reason="坏的路由器",
                            amount="59.00")
    page = client.get(link_path(signature)).content.decode()
    assert 'data-seal="intact"' in page
    section = receipt_section(page)
    assert "data-refunded>¥59.00<" in section and "Still to pay" not in section
