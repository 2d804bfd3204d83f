"""The desk's "Steps sent from phones" (issue 16): the dispatcher reads what was refused and
why, and which steps did not keep the phone's time; the order's page says it has refused
steps; the history shows both times of a step done offline."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from workorders import offline, services
from workorders.models import PhoneStep, State
from workorders.offline import QueuedStep

TZ = ZoneInfo("Asia/Shanghai")
LIST = reverse("admin:workorders_phonestep_changelist")


def local(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, 8, hour, minute, tzinfo=TZ)


@pytest.fixture
def sent(make_order, alice, agent):
    """Two orders of alice's: a check-in done offline at 10:02 and sent at 10:40 (applied),
    and an order cancelled while her phone was offline (her step refused)."""
    with time_machine.travel(local(8), tick=False) as traveller:
        applied = make_order(State.EN_ROUTE, technician=alice)
        cancelled = make_order(State.PREPARED, technician=alice)
        seen = cancelled.version
        traveller.move_to(local(9))
        services.work_order_cancel(order=cancelled, by=agent, reason="客户取消 not needed")
        traveller.move_to(local(10, 40))
        offline.replay(QueuedStep(uuid.uuid4(), applied.pk, "check-in", local(10, 2),
                                  local(10, 40), applied.version, None), by=alice.user,
                       run=lambda o: services.work_order_check_in(order=o, by=alice.user))
        offline.replay(QueuedStep(uuid.uuid4(), cancelled.pk, "depart", local(9, 30),
                                  local(10, 40), seen, None), by=alice.user,
                       run=lambda o: services.work_order_depart(order=o, by=alice.user))
        yield applied, cancelled


@pytest.mark.parametrize("language, title, history, inline", [
    ("en", "steps sent from phones", "10:02 (sent 10:40)", "Steps sent from phones and refused"),
    ("zh-hans", "手机发来的步骤", "10:02（10:40 发送）", "被拒绝的手机步骤")])
def test_the_dispatcher_reads_the_steps_sent_from_phones(client, dispatcher, sent, language,
                                                         title, history, inline):
    applied, cancelled = sent
    client.force_login(dispatcher)
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    page = client.get(LIST, **headers)
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    text = page.content.decode()
    assert title in text.lower()
    assert reverse("admin:workorders_workorder_change", args=[applied.pk]) in text

    refused = client.get(LIST, {"status__exact": "refused"}, **headers)
    assert [r.order_id for r in refused.context["cl"].result_list] == [cancelled.pk]
    assert "not needed" in refused.content.decode()
    for params in ({"flag__exact": "future"}, {"user__id__exact": sent[0].technician.user_id}):
        assert client.get(LIST, params, **headers).status_code == 200
    record = PhoneStep.objects.get(order=cancelled)
    detail = client.get(reverse("admin:workorders_phonestep_change", args=[record.pk]),
                        **headers)
    assert detail.status_code == 200 and "not needed" in detail.content.decode()

    # The order's page: its refused steps, only where there are some; the history's times.
    order_page = client.get(reverse("admin:workorders_workorder_change", args=[cancelled.pk]),
                            **headers).content.decode()
    assert inline in order_page and "not needed" in order_page
    other = client.get(reverse("admin:workorders_workorder_change", args=[applied.pk]),
                       **headers).content.decode()
    assert inline not in other
    assert history in other


def test_nobody_edits_a_step_sent_from_a_phone(client, dispatcher, sent):
    client.force_login(dispatcher)
    record = PhoneStep.objects.first()
    assert record is not None
    url = reverse("admin:workorders_phonestep_change", args=[record.pk])
    client.post(url, {"message": "edited"})
    assert PhoneStep.objects.get(pk=record.pk).message != "edited"
    assert client.get(reverse("admin:workorders_phonestep_add")).status_code == 403
    assert client.get(reverse("admin:workorders_phonestep_delete",
                              args=[record.pk])).status_code == 403


def test_a_technician_does_not_read_the_desks_list(client, alice, sent):
    client.force_login(alice.user)
    assert client.get(LIST).status_code in (302, 403)
