"""R40: every page and endpoint that can show a customer's phone number, for every role:
the number is masked, or the read is recorded (who, which order or customer, where).

Defect covered (issue 18, item 2): the admin's order list, the technician's order page and
``GET /api/v1/callbacks/`` (and the customer record, the callback queue and its record
page) showed full phone numbers without writing an access record; the SMS outbox showed
them in full to every office role.

Defect covered (issue 18, R40 exports): the signed report's PDF downloaded by staff or a
technician carried the customer's full name with no access record. A file that can hold
full customer data (an ``export:`` page here) is checked for full names and addresses as
well as numbers: it holds them masked (or none at all), or its download wrote one record
with ``Face.EXPORT`` (who, when, what, how many rows).

Defect covered (issue 18, R40 pages): the signed report's HTML page, at the desk and on the
technician's pages, showed the signer's full name (here the customer, 李娜) to every role
that could open it, with no access record, while its PDF masked it or recorded it. Those
pages (``NAME_PAGES``) are checked for full names too: masked (李*), or the read recorded
(``what`` "name", the page's face). The customer's own copy (``portal:report``, their
signed link) shows their own name.

Defect covered (issue 18, R40, the signer's name elsewhere): the admin order page's sign-off
inline and its history (the sign-off event's details), the sign-off event's own admin page
(its stored payload), the technician's completion page ("Signed by ...") and the API's
timeline (the sign-off event's payload) showed the signer's full name to every role that
could open them, with no access record. They are
``NAME_PAGES`` too, on an order signed off (``Scene.signed_off``) or signed and completed.

A new page or endpoint that can show customer data is added to ``PAGES``; the test then
checks it for every role in ``ROLES``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from api import services as api_services
from api.models import ApiClient, ClientRole
from complaints import services as complaint_services
from complaints.models import Complaint
from demo import scenarios
from notifications.models import Notification
from reports import links as reports_links
from surveys.models import Callback, Survey
from surveys.services import callbacks_open_due
from technicians.models import Technician
from tests.conftest import CustomerPersona
from workorders import services
from workorders.models import (
    Customer,
    Face,
    Kind,
    PiiAccess,
    Signature,
    State,
    WorkOrder,
    WorkOrderEvent,
)

PHONE, ALT_PHONE = "13812345678", "13712349876"
CALLBACK_PHONE = "13698761234"
FULL_NUMBERS = (PHONE, ALT_PHONE, CALLBACK_PHONE)
#: What else a file must not carry unrecorded: the customers' full names and addresses.
FULL_NAMES = ("张伟", "李娜", "东四十条 88 号")
#: Someone other than the customer who signed for them (a relative at home): the signer.
SIGNER = "王芳"
#: Pages (not files) that can show a customer's or signer's full name, by test id
#: (``Page.id``): the names each is checked for besides the numbers. The pages of the order
#: signed by ``SIGNER`` look for the signer only (the order's own customer and address on
#: its page are not the signer).
NAME_PAGES: dict[str, tuple[str, ...]] = {
    "admin:report": FULL_NAMES, "tech:report": FULL_NAMES,
    "admin:order-signed": (SIGNER,), "admin:event-sign-off": (SIGNER,),
    "tech:complete": (SIGNER,), "api:timeline-signed": (SIGNER,),
}


class Scene:
    """What the pages show: an order of alice's with a booked visit, an order waiting for
    the call-centre's callback, built only when a page needs them."""

    def __init__(self, make_order: Callable[..., WorkOrder], alice: Technician) -> None:
        self._make_order, self.alice = make_order, alice

    @cached_property
    def order(self) -> WorkOrder:
        return self._make_order(State.SCHEDULED, technician=self.alice, contact_phone=PHONE,
                                alt_phone=ALT_PHONE)

    @cached_property
    def callback(self) -> Callback:
        order = self._make_order(State.SURVEY_PENDING, technician=self.alice,
                                 contact_phone=CALLBACK_PHONE, customer_name="李娜")
        later = Survey.objects.get(order=order).callback_due_at + dt.timedelta(minutes=1)
        with time_machine.travel(later, tick=False):
            callbacks_open_due()
        return Callback.objects.get(order=order)

    @cached_property
    def complaint(self) -> Complaint:
        agent = User.objects.get(username="carl")  # the agent fixture
        return complaint_services.complaint_record(by=agent, tier="complaint",
                                                   channel="phone", text="投诉",
                                                   order=self.order)

    @property
    def signature(self) -> Signature:
        """The signed report of the order waiting for its callback (signed on completion)."""
        return Signature.objects.filter(order=self.callback.order).latest("signed_at")

    @cached_property
    def signed_off(self) -> WorkOrder:
        """An order of alice's (customer 李娜) signed off on site by ``SIGNER`` through the
        real services, its report not filed yet: the technician's completion page says who
        signed, the desk's order page and history too."""
        order = self._make_order(State.ON_SITE, technician=self.alice,
                                 contact_phone=CALLBACK_PHONE, customer_name="李娜")
        tech = self.alice.user
        scenarios.make_safe(order, tech)
        services.work_order_save_report(
            order=order, by=tech, work_done="更换光猫 ONU replaced", download_mbps=500,
            fault_cause="line" if order.kind == Kind.REPAIR else "", onu_activated=True)
        scenarios.finish_checklist(order, tech)
        services.work_order_customer_sign_off(
            order=order, by=tech, **scenarios.demo_signature(order.pk), signer_name=SIGNER,
            rating=5)
        return WorkOrder.objects.get(pk=order.pk)

    @property
    def sign_off_event(self) -> WorkOrderEvent:
        """The event the sign-off wrote (its payload holds the signer's name)."""
        return WorkOrderEvent.objects.filter(order=self.signed_off,
                                             payload__has_key="signer_name").latest("id")

    @property
    def customer(self) -> Customer:
        return self.order.customer

    @property
    def sms(self) -> Notification:
        return Notification.objects.filter(order=self.order, channel="sms").latest("id")


@dataclass(frozen=True)
class Page:
    """``where``: the label its access records carry (``PiiAccess.where``); ``name``: the
    test's id when one page (one ``where``) is checked on two orders."""

    where: str
    url: Callable[[Scene], str]
    method: str = "get"
    name: str = ""

    @property
    def id(self) -> str:
        return self.name or self.where


PAGES: list[Page] = [
    # The admin desk (dispatcher, call-centre, supervisor, admin).
    Page("admin:order-list", lambda s: (s.order, "/admin/workorders/workorder/")[1]),
    Page("admin:order", lambda s: f"/admin/workorders/workorder/{s.order.pk}/change/"),
    Page("admin:customer-list", lambda s: (s.order, "/admin/workorders/customer/")[1]),
    Page("admin:customer", lambda s: f"/admin/workorders/customer/{s.customer.pk}/change/"),
    Page("admin:callback-list", lambda s: (s.callback, "/admin/surveys/callback/")[1]),
    Page("admin:callback", lambda s: f"/admin/surveys/callback/{s.callback.pk}/record/"),
    Page("admin:notification-list",
         lambda s: (s.order, "/admin/notifications/notification/")[1]),
    Page("admin:notification",
         lambda s: f"/admin/notifications/notification/{s.sms.pk}/change/"),
    Page("admin:event-list", lambda s: (s.order, "/admin/workorders/workorderevent/")[1]),
    Page("admin:contact-list", lambda s: (s.order, "/admin/workorders/contactattempt/")[1]),
    Page("admin:survey-list", lambda s: (s.callback, "/admin/surveys/survey/")[1]),
    # The technician's pages.
    Page("tech:today", lambda s: (s.order, "/tech/")[1]),
    Page("tech:order", lambda s: f"/tech/orders/{s.order.pk}/"),
    Page("tech:contact", lambda s: f"/tech/orders/{s.order.pk}/contact/"),
    # The customer's link pages (anyone holding the link).
    Page("portal:appointment", lambda s: CustomerPersona.link_path(s.order)),
    Page("portal:survey", lambda s: CustomerPersona.link_path(s.callback.order)),
    # The API.
    Page("api:order-list", lambda s: (s.order, "/api/v1/work-orders/")[1]),
    Page("api:order", lambda s: f"/api/v1/work-orders/{s.order.pk}/"),
    Page("api:timeline", lambda s: f"/api/v1/work-orders/{s.order.pk}/timeline/"),
    Page("api:callbacks", lambda s: (s.callback, "/api/v1/callbacks/?status=all")[1]),
    Page("api:callback-not-reached",
         lambda s: f"/api/v1/callbacks/{s.callback.pk}/not-reached/", method="post"),
    Page("api:follow-ups", lambda s: (s.order, "/api/v1/follow-ups/")[1]),
    # R51: complaints (their own reads are recorded too: tests/complaints/test_roles.py).
    Page("api:complaint", lambda s: f"/api/v1/complaints/{s.complaint.pk}/"),
    Page("admin:complaint", lambda s: f"/admin/complaints/complaint/{s.complaint.pk}/change/"),
    # The supervisors' dashboards and their exports.
    Page("dashboard", lambda s: (s.order, s.callback, "/dashboard/")[2]),
    Page("dashboard:now", lambda s: (s.order, "/dashboard/now/")[1]),
    Page("dashboard:breaches", lambda s: (s.order, "/dashboard/breaches/")[1]),
    Page("dashboard:scorecard", lambda s: f"/dashboard/technicians/{s.alice.pk}/"),
    *[Page(f"export:{table}", lambda s, t=table: (s.callback, f"/dashboard/export/{t}.csv")[1])
      for table in ("summary", "daily", "areas", "technicians", "breaches", "now")],
    # Every other table is a sheet of this workbook (dashboards.exports.summary_workbook).
    Page("export:summary.xlsx", lambda s: (s.callback, "/dashboard/export/summary.xlsx")[1]),
    # Added since the matrix was written (issue 18): assessment statements (R53) and their
    # exports, the signed report (R26) as a page and as a PDF, the phone steps (issue 16),
    # quality (R52), complaints (R51) and outages (R54) in the admin, the technician's
    # assessment month and offline pages, the customer's copy of the report.
    Page("admin:entry-list", lambda s: (s.callback, "/admin/assessment/entry/")[1]),
    Page("admin:appeal-list", lambda s: (s.callback, "/admin/assessment/appeal/")[1]),
    Page("admin:statement", lambda s: (s.callback, "/admin/assessment/entry/statement/")[1]),
    Page("export:statement.csv",
         lambda s: (s.callback, "/admin/assessment/entry/statement/export.csv")[1]),
    Page("export:statement.xlsx",  # both statements, by technician and by team
         lambda s: (s.callback, "/admin/assessment/entry/statement/export.xlsx")[1]),
    Page("admin:report",
         lambda s: f"/admin/workorders/workorder/signatures/{s.signature.pk}/report/"),
    Page("export:admin-report-pdf",
         lambda s: f"/admin/workorders/workorder/signatures/{s.signature.pk}/report.pdf"),
    Page("admin:phone-step-list", lambda s: (s.order, "/admin/workorders/phonestep/")[1]),
    Page("admin:inspection-list", lambda s: (s.callback, "/admin/quality/inspection/")[1]),
    Page("admin:quality-record-list",
         lambda s: (s.callback, "/admin/quality/qualityrecord/")[1]),
    Page("admin:complaint-list", lambda s: (s.complaint, "/admin/complaints/complaint/")[1]),
    Page("admin:outage-list", lambda s: (s.order, "/admin/outages/outage/")[1]),
    Page("admin:outage-proposal-list", lambda s: (s.order, "/admin/outages/outageproposal/")[1]),
    Page("tech:assessment", lambda s: (s.callback, "/tech/assessment/")[1]),
    Page("tech:offline", lambda s: (s.order, "/tech/offline/")[1]),
    Page("tech:report", lambda s: f"/tech/orders/{s.signature.order_id}/signed-report/"),
    Page("export:tech-report-pdf",
         lambda s: f"/tech/orders/{s.signature.order_id}/signed-report.pdf"),
    Page("portal:report", lambda s: urlsplit(reports_links.absolute_url(s.signature)).path),
    Page("portal:report-pdf",
         lambda s: reports_links.pdf_url(reports_links.token_for(s.signature))),
    # The signer's name elsewhere (R40): the order page of a signed order (its sign-off
    # inline and its history), the sign-off event's page, the technician's completion page.
    Page("admin:order", lambda s: f"/admin/workorders/workorder/{s.signed_off.pk}/change/",
         name="admin:order-signed"),
    Page("admin:event",
         lambda s: f"/admin/workorders/workorderevent/{s.sign_off_event.pk}/change/",
         name="admin:event-sign-off"),
    Page("tech:complete", lambda s: f"/tech/orders/{s.signed_off.pk}/complete/"),
    Page("api:timeline", lambda s: f"/api/v1/work-orders/{s.signed_off.pk}/timeline/",
         name="api:timeline-signed"),  # the sign-off event's payload
]


@dataclass
class Role:
    """A way in: a browser session of a user, a token of an API client, or nobody."""

    name: str
    user: User | None
    client: Client
    headers: dict[str, str]


def _session(name: str, user: User | None) -> Role:
    client = Client()
    if user is not None:
        client.force_login(user)
    return Role(name, user, client, {})


def _token(name: str, role: str) -> Role:
    api_client: ApiClient = api_services.api_client_create(name=name, role=role)
    _token_row, plain = api_services.api_token_issue(client=api_client)
    return Role(name, api_client.user, Client(), {"Authorization": f"Bearer {plain}"})


@pytest.fixture
def roles(reference_data: None, dispatcher: User, agent: User, supervisor: User,
          alice: Technician, bob: Technician) -> list[Role]:
    admin = User.objects.create_superuser("root", password="pw-root-admin")
    return [
        _session("admin", admin),
        _session("dispatcher", dispatcher),
        _session("agent", agent),
        _session("supervisor", supervisor),
        _session("technician", alice.user),  # the order's own technician
        _session("other technician", bob.user),
        _session("customer", None),  # signed links only, no login
        _token("call-centre API client", ClientRole.CALL_CENTRE),
        _token("reporting API client", ClientRole.REPORTING),
    ]


def _text(response: Any) -> str:
    if response.get("Content-Type", "") == "application/pdf":
        pages = PdfReader(io.BytesIO(response.content)).pages
        return " ".join(page.extract_text() for page in pages)
    if "spreadsheet" in response.get("Content-Type", ""):
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return " ".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                        for cell in row)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


def test_the_matrix_lists_every_face() -> None:
    faces = {page.where.split(":")[0] for page in PAGES}
    assert {"admin", "tech", "portal", "api", "export"} <= faces, faces
    assert len({page.id for page in PAGES}) == len(PAGES)


@pytest.mark.parametrize("page", PAGES, ids=[p.id for p in PAGES])
def test_a_full_phone_number_is_masked_or_its_read_recorded(page: Page, roles: list[Role],
                                                           make_order: Any,
                                                           alice: Technician) -> None:
    # R40
    scene = Scene(make_order, alice)
    url = page.url(scene)
    unrecorded: list[str] = []
    for role in roles:
        before = set(PiiAccess.objects.values_list("pk", flat=True))
        if page.method == "post":
            response = role.client.post(url, {"note": "no answer"},
                                        content_type="application/json", headers=role.headers)
        else:
            response = role.client.get(url, headers=role.headers)
        text = _text(response)
        names = NAME_PAGES.get(page.id, FULL_NAMES if page.where.startswith("export:") else ())
        looked_for = FULL_NUMBERS + names
        shown = [n for n in looked_for if n in text]
        if page.id in NAME_PAGES and response.status_code == 200 and not shown:
            masked = {f"{name[0]}*" for name in names if name in (SIGNER, "李娜")}
            assert any(m in text for m in masked), f"{page.id}: {role.name} sees no signer"
        if not shown:
            continue
        recorded = PiiAccess.objects.exclude(pk__in=before).filter(where=page.where)
        if role.user is None or not recorded.filter(user=role.user).exists():
            unrecorded.append(f"{role.name} ({response.status_code}) saw {shown}")
        else:
            face = recorded.first().face
            assert face in Face.values
            if page.where.startswith("export:"):  # one record per file, with its rows
                [export] = recorded.filter(user=role.user)
                assert export.face == Face.EXPORT and export.rows, export
            # The name's own record, with the page's face.
            if any(n in names for n in shown) and page.id in NAME_PAGES:
                [read] = recorded.filter(user=role.user, what="name")
                assert read.face == {"admin": Face.ADMIN, "tech": Face.FIELD, "api": Face.API}[
                    page.where.split(":")[0]], read
    assert not unrecorded, f"{page.id}: full data shown, no access record: {unrecorded}"


def test_a_record_says_who_what_when_and_through_which_face(client: Client, agent: User,
                                                            make_order: Any,
                                                            alice: Technician) -> None:
    # R40
    order = Scene(make_order, alice).order
    client.force_login(agent)
    client.get("/admin/workorders/workorder/")
    record = PiiAccess.objects.get()
    assert (record.user, record.order, record.customer) == (agent, order, order.customer)
    assert (record.face, record.where, record.what) == (Face.ADMIN, "admin:order-list",
                                                        "phone")
    assert record.at is not None
