"""Alibaba Cloud SMS through its official SDK, against a local server that plays the
gateway: the approved template of the kind, the signature, the number as the gateway
wants it; refusals retried or failed for good; delivery receipts onto the outbox row."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.test import Client

from notifications import delivery, receipts, services
from notifications.models import Channel, Delivery, Notification, Status

pytestmark = pytest.mark.django_db

SURVEY_URL = "https://fieldops.example/s/abc/"


def survey_sms(phone: str = "+86 138-0013-8000") -> Notification:
    note = services.notify(channel=Channel.SMS, kind="survey", address=phone,
                           body=f"工单WO-1已完成，请评价：{SURVEY_URL}",
                           params={"number": "WO-1", "url": SURVEY_URL})
    assert note is not None
    return note


def test_it_sends_the_kinds_template_with_the_signature(aliyun):
    note = survey_sms()
    assert delivery.deliver(note.pk) == "sent"
    [request] = aliyun.requests
    assert request.method == "POST"
    assert request.headers["x-acs-action"] == "SendSms"
    assert request.headers["x-acs-version"] == "2017-05-25"
    assert "Credential=LTAI-test-key" in request.headers["authorization"]
    assert request.query["PhoneNumbers"] == "13800138000"  # a mainland number: 11 digits
    assert request.query["SignName"] == "装维服务"
    assert request.query["TemplateCode"] == "SMS_476500888"
    assert json.loads(request.query["TemplateParam"]) == {"number": "WO-1", "url": SURVEY_URL}
    assert request.query["OutId"] == f"fieldops-{note.pk}"
    note.refresh_from_db()
    assert note.status == Status.SENT and note.gateway_id == "1001^0"
    assert note.delivery == Delivery.UNKNOWN
    assert delivery.deliver(note.pk) == "skipped" and len(aliyun.requests) == 1


def test_a_number_abroad_goes_with_its_country_code(aliyun):
    note = survey_sms("+852 6123 4567")
    delivery.deliver(note.pk)
    assert aliyun.requests[0].query["PhoneNumbers"] == "85261234567"


def test_a_throttled_message_is_retried(aliyun):
    aliyun.refusals.append((200, {"Code": "isv.BUSINESS_LIMIT_CONTROL",
                                  "Message": "触发小时级流控Permits:5"}))
    note = survey_sms()
    assert delivery.deliver(note.pk) == "retry"
    note.refresh_from_db()
    assert note.status == Status.PENDING and "isv.BUSINESS_LIMIT_CONTROL" in note.last_error
    Notification.objects.filter(pk=note.pk).update(next_attempt_at=note.created_at)
    assert delivery.deliver(note.pk) == "sent"


def test_an_invalid_number_fails_for_good_at_once(aliyun):
    aliyun.refusals.append((200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL",
                                  "Message": "非法手机号"}))
    note = survey_sms()
    assert delivery.deliver(note.pk) == "failed"
    note.refresh_from_db()
    assert note.status == Status.FAILED and note.attempts == 1
    assert "isv.MOBILE_NUMBER_ILLEGAL" in note.last_error


def test_something_that_is_no_phone_number_never_reaches_the_gateway(aliyun):
    note = survey_sms("call the landlord")
    assert delivery.deliver(note.pk) == "failed"
    assert aliyun.requests == []


def test_refused_keys_are_retried_and_logged_as_an_error(aliyun, caplog):
    aliyun.refusals.append((404, {"Code": "InvalidAccessKeyId.NotFound",
                                  "Message": "Specified access key is not found."}))
    note = survey_sms()
    with caplog.at_level(logging.ERROR, logger="fieldops.sms"):
        assert delivery.deliver(note.pk) == "retry"
    assert "InvalidAccessKeyId.NotFound" in caplog.text
    note.refresh_from_db()
    assert note.status == Status.PENDING and "InvalidAccessKeyId.NotFound" in note.last_error


def test_an_unreachable_gateway_is_retried(aliyun, settings):
    settings.ALIYUN_SMS_ENDPOINT = "http://127.0.0.1:9"  # nothing listens there
    note = survey_sms()
    assert delivery.deliver(note.pk) == "retry"


def test_a_kind_without_a_template_waits_for_one(aliyun, settings):
    settings.SMS_TEMPLATES = {}
    note = survey_sms()
    assert delivery.deliver(note.pk) == "retry"
    note.refresh_from_db()
    assert "SMS_TEMPLATES has no template" in note.last_error and aliyun.requests == []


def _post(token: str, payload: object) -> object:
    return Client().post(f"/sms/receipts/aliyun/{token}/", json.dumps(payload),
                         content_type="application/json")


def report(note: Notification, *, success: bool = True) -> dict[str, object]:
    return {"phone_number": "13800138000", "send_time": "2026-11-23 17:00:00",
            "report_time": "2026-11-23 17:00:05", "success": success,
            "err_code": "DELIVERED" if success else "MK:0001",
            "err_msg": "用户接收成功" if success else "关机", "sms_size": "1",
            "biz_id": note.gateway_id, "out_id": f"fieldops-{note.pk}"}


def test_the_receipt_callback_marks_the_row_delivered_once(aliyun):
    note = survey_sms()
    delivery.deliver(note.pk)
    note.refresh_from_db()
    answer = _post("receipt-token-0123456789", [report(note)])
    assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "成功"}
    note.refresh_from_db()
    assert note.delivery == Delivery.DELIVERED
    assert note.delivered_at == dt.datetime(2026, 11, 23, 9, 0, 5, tzinfo=dt.UTC)  # Beijing 17:00
    # the push comes again, then a late contrary report: nothing changes
    assert _post("receipt-token-0123456789", [report(note)]).status_code == 200
    assert receipts.record_all(receipts_of([report(note, success=False)])) == 0
    note.refresh_from_db()
    assert note.delivery == Delivery.DELIVERED


def receipts_of(payload: list[dict[str, object]]) -> list:
    from notifications.backends import aliyun

    return aliyun.parse_callback(payload)


def test_a_receipt_before_the_biz_id_was_stored_finds_the_row_by_out_id(aliyun):
    note = survey_sms()
    Notification.objects.filter(pk=note.pk).update(status=Status.SENT)
    note.gateway_id = "777^0"
    _post("receipt-token-0123456789", [report(note, success=False)])
    note.refresh_from_db()
    assert note.delivery == Delivery.UNDELIVERED and note.delivery_error == "MK:0001"
    assert note.gateway_id == "777^0"


def test_the_callback_needs_the_token(aliyun, settings):
    note = survey_sms()
    delivery.deliver(note.pk)
    assert _post("wrong", []).status_code == 404
    settings.SMS_RECEIPT_TOKEN = ""
    assert _post("", []).status_code == 404
    assert Client().get("/sms/receipts/aliyun/receipt-token-0123456789/").status_code in (
        404, 405)


def test_pulled_receipts_update_the_rows_and_a_second_pull_changes_nothing(aliyun):
    first, second = survey_sms(), survey_sms("13900139000")
    delivery.deliver(first.pk)
    delivery.deliver(second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    aliyun.messages[first.gateway_id][2] = 3  # delivered
    assert receipts.pull_due() == 1  # the second still waits for the phone
    queries = [r for r in aliyun.requests if r.headers["x-acs-action"] == "QuerySendDetails"]
    assert {(q.query["PhoneNumber"], q.query["BizId"]) for q in queries} == {
        ("13800138000", first.gateway_id), ("13900139000", second.gateway_id)}
    assert all(len(q.query["SendDate"]) == 8 for q in queries)
    first.refresh_from_db()
    assert first.delivery == Delivery.DELIVERED
    aliyun.messages[second.gateway_id][2:] = [2, "MK:0012"]
    assert receipts.pull_due() == 1
    assert receipts.pull_due() == 0
    second.refresh_from_db()
    assert second.delivery == Delivery.UNDELIVERED and second.delivery_error == "MK:0012"


def test_a_row_without_the_templates_values_fails_for_good(aliyun):
    note = services.notify(channel=Channel.SMS, kind="survey", address="13800138000",
                           body="written before the values were kept")
    assert delivery.deliver(note.pk) == "failed"
    note.refresh_from_db()
    assert "no number, url" in note.last_error and aliyun.requests == []
