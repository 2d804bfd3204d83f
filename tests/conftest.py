"""Personas and factories shared by every test.

The personas are the people of DOMAIN.md: a dispatcher, a call-centre agent, a
supervisor, two technicians in different areas, and a customer. Orders in any
state come from ``make_order``, which walks them there through the real services.

Services: the suite runs on whatever ``DATABASE_URL`` / ``REDIS_URL`` point at
(``python dev.py test`` points them at the local PostgreSQL and Redis when those
answer). Tests marked ``postgres`` or ``redis`` are skipped when the service is
missing, unless ``FIELDOPS_REQUIRE_SERVICES=1`` (set by CI), where a missing
service fails the run instead.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Iterator
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.db import OperationalError
from django.test import Client

from demo import scenarios
from fieldops import bus, clock, roles
from fieldops.celery import app as celery_app
from notifications.models import Notification
from sla.timers import SlaPolicy
from technicians.models import Area, AreaType, Skill, Technician
from workorders import services
from workorders.models import AccessType, Channel, Kind, Service, WorkOrder

REQUIRE_SERVICES = os.environ.get("FIELDOPS_REQUIRE_SERVICES", "") in ("1", "true", "yes")


def _service_missing(item: pytest.Item, what: str, why: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (FIELDOPS_REQUIRE_SERVICES=1) but {why}",
                    pytrace=False)
    pytest.skip(f"{what} not available: {why}")


@pytest.fixture(autouse=True)
def _needs_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            _service_missing(request.node, "PostgreSQL",
                             f"DATABASE_URL points at {connection.vendor}")
    if request.node.get_closest_marker("redis"):
        url = os.environ.get("REDIS_URL", "")
        if not url:
            _service_missing(request.node, "Redis", "REDIS_URL is not set")


def reset_broker_connections() -> None:
    """Forget every broker connection and producer this process holds, after a test points
    Celery at another broker URL (the next publish connects afresh). kombu keeps its pools
    in a process-wide registry keyed by URL: a pool closed but left registered would be
    handed to the next publish to that URL ("Acquire on closed pool")."""
    from kombu import pools as kombu_pools

    kombu_pools.reset()
    celery_app._pool = None
    amqp = celery_app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def deadlock_error() -> OperationalError:
    """An ``OperationalError`` as Django raises it for PostgreSQL's 40P01, the driver's
    ``DeadlockDetected`` as its cause (what ``fieldops.retry.is_deadlock`` looks for)."""
    try:
        raise psycopg.errors.DeadlockDetected("deadlock detected")
    except psycopg.Error as driver:
        error = OperationalError("deadlock detected")
        error.__cause__ = driver
        return error


@pytest.fixture(autouse=True, scope="session")
def _celery_eager() -> None:
    """Tasks queued by services run in-process in unit tests; integration tests start
    real workers instead (tests/integration)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


#: What the tests' resolver answers for a host name (no DNS in a test run): names under
#: ``internal.example`` are inside the network, every other name is public.
PUBLIC_TEST_ADDRESS = "93.184.215.14"


def fake_resolve(host: str, port: int) -> list[str]:
    if host == "localhost":
        return ["127.0.0.1", "::1"]
    if host.endswith("internal.example"):
        return ["10.0.0.7"]
    try:  # numbers in every form the system resolver takes (2130706433, 127.1, 0x7f.1)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        return [PUBLIC_TEST_ADDRESS]
    return [info[4][0] for info in infos]


@pytest.fixture(autouse=True)
def _resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Webhook hosts are resolved by ``fake_resolve``, never by the network's DNS."""
    from api import webhooks

    monkeypatch.setattr(webhooks, "resolve", fake_resolve)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    """Uploaded photos and signatures go to a temporary folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the project's default language (``settings.LANGUAGE_CODE``) and
    the language active before it is put back afterwards. A request through the test
    client activates the language it asked for (LocaleMiddleware) and nothing deactivates
    it, so without this a message's language depended on which test ran before. A test
    that asserts words in one language says so with ``translation.override``."""
    from django.conf import settings as django_settings
    from django.utils import translation

    with translation.override(django_settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _sms_outbox() -> Any:
    """Each test starts with an empty test SMS gateway (notifications.backends.outbox)."""
    from notifications.backends import outbox

    outbox.clear()
    yield outbox
    outbox.clear()


# --- Places and people -------------------------------------------------------

@pytest.fixture
def reference_data(db: Any) -> None:
    """Groups, skills, calendars and SLA policies come from data migrations; transactional
    tests flush them, so put them back when they are missing (cheap when present)."""
    if not Group.objects.filter(name=roles.DISPATCHER).exists():
        roles.sync_roles(apps)
    if not Skill.objects.exists():
        import_module("technicians.migrations.0002_seed_skills").seed(apps, None)
    if not SlaPolicy.objects.exists():
        import_module("sla.migrations.0002_default_calendars").create(apps, None)
        import_module("sla.migrations.0004_default_policies").create(apps, None)
        import_module("sla.migrations.0013_reopen_rework").add(apps, None)
        import_module("sla.migrations.0014_outage_pauses").add(apps, None)  # R54
        import_module("sla.migrations.0015_unassign").add(apps, None)
    # The visit's checklist and test ranges (R43-R49) and the ledger's policy (R53).
    if not apps.get_model("visits", "TestRangePolicy").objects.exists():
        import_module("visits.migrations.0002_seed_policies").seed(apps, None)
    if not apps.get_model("assessment", "AssessmentRule").objects.exists():
        import_module("assessment.migrations.0002_append_only_roles_policy").seed(apps, None)
    if not apps.get_model("outages", "OutagePolicy").objects.exists():
        import_module("outages.migrations.0002_roles_policy").seed(apps, None)
    # The complaint deadlines per tier (R51).
    if not apps.get_model("complaints", "ComplaintPolicy").objects.exists():
        import_module("complaints.migrations.0002_policies_roles").seed(apps, None)


    # The default inspection policy (R52).
    if not apps.get_model("quality", "InspectionPolicy").objects.exists():
        import_module("quality.migrations.0002_roles_policy").seed(apps, None)


@pytest.fixture
def east(reference_data: None) -> Area:
    return Area.objects.create(code="BJ-DC-01", name="东城片区", area_type=AreaType.URBAN)


@pytest.fixture
def west(reference_data: None) -> Area:
    return Area.objects.create(code="BJ-MTG-07", name="门头沟山区", area_type=AreaType.RURAL)


def _user(username: str, *groups: str, staff: bool = False, full_name: str = "") -> User:
    first, _, last = full_name.partition(" ")
    user = User.objects.create_user(username=username, password="pw-" + username,
                                    is_staff=staff, first_name=first, last_name=last)
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    return user


def make_technician(username: str, *, areas: list[Area],
                    skills: tuple[str, ...] = ("install", "move", "repair", "broadband",
                                               "fixed_line", "iptv"),
                    access: tuple[str, ...] = ("ftth", "fttb", "lan", "xdsl"),
                    capacity: int = 8, full_name: str = "") -> Technician:
    user = _user(username, roles.TECHNICIAN, full_name=full_name)
    tech = Technician.objects.create(user=user, employee_no=f"T-{username}",
                                     phone="13900000000", daily_capacity=capacity)
    tech.areas.set(areas)
    tech.skills.set(Skill.objects.filter(code__in=skills))
    tech.access_types.set(Skill.objects.filter(code__in=access))
    return tech


@pytest.fixture
def dispatcher(reference_data: None) -> User:
    return _user("dora", roles.DISPATCHER, staff=True, full_name="Dora Diao")


@pytest.fixture
def agent(reference_data: None) -> User:
    return _user("carl", roles.CALL_CENTRE, staff=True, full_name="Carl Kefu")


@pytest.fixture
def supervisor(reference_data: None) -> User:
    return _user("sam", roles.SUPERVISOR, staff=True, full_name="Sam Banzhang")


@pytest.fixture
def inspector(reference_data: None) -> User:
    return _user("ivy", roles.INSPECTOR, staff=True, full_name="Ivy Zhijian")


@pytest.fixture
def alice(east: Area) -> Technician:
    """Technician serving the east (urban) area."""
    return make_technician("alice", areas=[east], full_name="Alice Wang")


@pytest.fixture
def alice_client(alice: Technician) -> Any:
    """A browser client logged in as alice (the technician pages)."""
    client = Client()
    client.force_login(alice.user)
    return client


@pytest.fixture
def bob_client(bob: Technician) -> Any:
    client = Client()
    client.force_login(bob.user)
    return client


@pytest.fixture
def bob(west: Area) -> Technician:
    """Technician serving the west (rural) area."""
    return make_technician("bob", areas=[west], full_name="Bob Li")


@pytest.fixture
def technician(alice: Technician) -> Technician:
    """The technician persona: alice, in the east (urban) area."""
    return alice


class CustomerPersona:
    """The customer: no login, only the links the product sends by SMS (R10, R29)."""

    def __init__(self) -> None:
        self.client = Client()

    @staticmethod
    def link_path(order: WorkOrder) -> str:
        """The path of the newest link texted to the customer about ``order``."""
        sms = Notification.objects.filter(order=order, channel="sms").order_by("-id").first()
        found = re.search(r"https?://\S+", sms.body) if sms else None
        assert found, f"no link was texted to the customer of {order.number}"
        return urlsplit(found.group(0)).path

    def open_link(self, order: WorkOrder) -> Any:
        return self.client.get(self.link_path(order))


@pytest.fixture
def customer() -> CustomerPersona:
    return CustomerPersona()


@pytest.fixture
def listen() -> Iterator[Callable[[type], list[Any]]]:
    """``listen(EventType)``: a list that collects every event of that type published on
    the bus during the test."""
    subscribed: list[tuple[type, Callable[[Any], None]]] = []

    def start(event_type: type) -> list[Any]:
        heard: list[Any] = []
        bus.subscribe(event_type, heard.append)
        subscribed.append((event_type, heard.append))
        return heard

    yield start
    for event_type, handler in subscribed:
        bus.unsubscribe(event_type, handler)


# --- Orders ---------------------------------------------------------------------

ORDER_DEFAULTS: dict[str, Any] = {
    "channel": Channel.HOTLINE,
    "kind": Kind.INSTALL,
    "service": Service.BROADBAND,
    "access_type": AccessType.FTTH,
    "customer_name": "张伟",
    "contact_phone": "13812345678",
    "address": "北京市东城区东四十条 88 号 3 单元 502",
}


@pytest.fixture
def make_order(east: Area, dispatcher: User, agent: User) -> Callable[..., WorkOrder]:
    """``make_order(state="scheduled", technician=alice, **intake)``: a new order walked
    through the real services to ``state``."""

    def make(state: str = "accepted", *, technician: Technician | None = None,
             by: User | None = None, **intake: Any) -> WorkOrder:
        fields = {**ORDER_DEFAULTS, "area": east, **intake}
        if fields["kind"] == Kind.REPAIR:
            fields.setdefault("symptoms", "无法上网, 光猫 LOS 红灯")
        if fields["kind"] != Kind.REPAIR:
            fields.setdefault("preferred_day", clock.today_local())
        order = services.work_order_create(by=by or agent, **fields)
        return scenarios.walk_to(order, state, technician=technician,
                                 dispatcher=dispatcher, agent=agent)

    return make



@pytest.fixture
def visits_alone() -> Iterator[None]:
    """The on-site checklist with only the visits app's own steps: the steps other phases
    register (equipment, materials, charges) are set aside for the test and restored."""
    from workorders import visit_parts

    others = ("equipment", "materials", "charges")
    saved = {key: done for key, done in visit_parts._steps.items() if key in others}
    for key in saved:
        visit_parts.register_visit_step(key, None)
    try:
        yield
    finally:
        for key, done in saved.items():
            visit_parts.register_visit_step(key, done)
