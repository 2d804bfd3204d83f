"""demo.sandbox: what the demo builder lets out of the process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction

from demo.sandbox import without_side_effects
from notifications import delivery, services
from notifications.models import Channel, Notification, Status


def _texts() -> None:
    services.notify(channel=Channel.SMS, kind="demo", body="您的预约已确认",
                    address="+8613800000000")
    services.notify(channel=Channel.EMAIL, kind="demo", body="confirmed", address="a@example.com")


@pytest.mark.django_db
def test_sms_to_the_local_log_wait_there_and_reach_var_sms_log(settings: Any,
                                                               tmp_path: Any) -> None:
    settings.SMS_BACKEND = "notifications.backends.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.log")
    with transaction.atomic(), without_side_effects():
        _texts()
    assert Notification.objects.get(channel=Channel.EMAIL).status == Status.FAILED
    assert Notification.objects.get(channel=Channel.SMS).status == Status.PENDING
    delivery.flush_due()
    lines = (tmp_path / "sms.log").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["text"] for line in lines] == ["您的预约已确认"]


@pytest.mark.django_db
def test_with_a_real_gateway_no_demo_sms_is_ever_sent(settings: Any) -> None:
    # A gateway reaches real phones; the demo's made-up numbers may be real people's.
    settings.SMS_BACKEND = "tests.notifications.test_outbox.BrokenGateway"
    with transaction.atomic(), without_side_effects():
        _texts()
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.FAILED}
