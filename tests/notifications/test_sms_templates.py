"""Template gateways send only approved templates: every SMS the product writes keeps the
values of its kind, and ``manage.py check`` fails while a kind has no template."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from notifications.backends import PermanentSmsError
from notifications.backends.templates import SMS_KINDS, check_sms_gateway, e164
from notifications.models import Channel, Notification
from workorders.messages import sms_customer

from .conftest import TEMPLATES


def ids(settings) -> list[str]:
    return [str(message.id) for message in check_sms_gateway()]


def test_a_free_text_backend_needs_no_template(settings):
    settings.SMS_BACKEND = "notifications.backends.FileSmsBackend"
    settings.SMS_TEMPLATES = {}
    assert ids(settings) == []


@pytest.mark.django_db
def test_a_configured_gateway_passes_the_check(aliyun, tencent, settings):
    assert ids(settings) == []  # tencent's settings, the last fixture
    call_command("check")


@pytest.mark.django_db
def test_a_kind_without_a_template_fails_the_check(aliyun, settings):
    settings.SMS_TEMPLATES = {k: v for k, v in TEMPLATES.items() if k != "on_the_way"}
    assert ids(settings) == ["notifications.E004"]
    with pytest.raises(SystemCheckError, match="on_the_way"):
        call_command("check")


def test_a_template_taking_a_value_the_sms_has_not_fails_the_check(aliyun, settings):
    settings.SMS_TEMPLATES = {**TEMPLATES, "survey": {"template": "SMS_1",
                                                      "params": ["number", "price"]}}
    assert ids(settings) == ["notifications.E005"]
    settings.SMS_TEMPLATES = {**TEMPLATES, "survey": 42}
    assert ids(settings) == ["notifications.E005"]


def test_missing_keys_fail_the_check_and_an_unknown_kind_warns(tencent, settings):
    settings.TENCENT_SMS_SDK_APP_ID = ""
    settings.SMS_TEMPLATES = {**settings.SMS_TEMPLATES, "birthday": "77"}
    assert ids(settings) == ["notifications.E003", "notifications.W001"]


def test_a_code_alone_takes_all_of_the_kinds_values(tencent, settings):
    from notifications.backends.templates import template_for

    settings.SMS_TEMPLATES = {"survey": "1234"}
    assert template_for("survey").params == SMS_KINDS["survey"]


@pytest.mark.parametrize(("given", "sent"), [
    ("13800138000", "+8613800138000"), ("138 0013 8000", "+8613800138000"),
    ("8613800138000", "+8613800138000"), ("+86-138-0013-8000", "+8613800138000"),
    ("+85261234567", "+85261234567"), ("0085261234567", "+85261234567")])
def test_numbers_go_in_e164(given, sent):
    assert e164(given) == sent


@pytest.mark.parametrize("given", ["", "unknown", "010-1234", "61234567"])
def test_what_is_no_mobile_number_fails_for_good(given):
    with pytest.raises(PermanentSmsError):
        e164(given)


@pytest.mark.django_db
def test_every_sms_of_a_walked_order_keeps_its_kinds_values(make_order, technician):
    make_order("survey_pending", technician=technician)
    notes = list(Notification.objects.filter(channel=Channel.SMS))
    assert {note.kind for note in notes} >= {"appointment_booked", "on_the_way", "survey"}
    for note in notes:
        assert set(note.params) == set(SMS_KINDS[note.kind]), note.kind
        assert all(isinstance(value, str) and value for value in note.params.values())


@pytest.mark.django_db
def test_an_sms_without_its_values_is_a_programming_error(make_order):
    order = make_order()
    with pytest.raises(ValueError, match="birthday"):
        sms_customer(order, kind="birthday", body=lambda: "x", params={}, dedupe_key="b")
    with pytest.raises(ValueError, match="url"):
        sms_customer(order, kind="survey", body=lambda: "x", params={"number": "1"},
                     dedupe_key="s")


def test_a_gateway_without_its_sdk_fails_the_check_with_the_extra_to_install(aliyun,
                                                                           monkeypatch):
    from notifications.backends.aliyun import AliyunSmsBackend

    monkeypatch.setattr(AliyunSmsBackend, "sdk_modules", ("no_such_sdk_module",))
    [error] = check_sms_gateway()
    assert error.id == "notifications.E002" and "fieldops[aliyun]" in error.hint


def test_the_product_loads_without_importing_any_gateway_sdk():
    code = ("import django, sys; django.setup(); "
            "import fieldops.urls, notifications.backends.aliyun, "
            "notifications.backends.tencent, notifications.views; "
            "loaded = [m for m in sys.modules if m.startswith(('alibabacloud', 'tencentcloud'))]; "
            "assert not loaded, loaded")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "fieldops.test_settings"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr
