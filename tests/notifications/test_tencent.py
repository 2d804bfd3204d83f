"""Tencent Cloud SMS through its official SDK, against a local server that plays the
gateway: the approved template of the kind with its values in order, the signature, the
number in E.164; refusals retried or failed for good; delivery receipts onto the row."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from django.test import Client

from notifications import delivery, services, tasks
from notifications.models import Channel, Delivery, Notification, Status

pytestmark = pytest.mark.django_db


def booking_sms(phone: str = "13800138000") -> Notification:
    params = {"number": "WO-7", "window": "11-24 上午", "name": "李师傅",
              "phone": "13900000001", "url": "https://fieldops.example/c/t/"}
    note = services.notify(channel=Channel.SMS, kind="appointment_booked", address=phone,
                           body="您的工单WO-7已预约……", params=params)
    assert note is not None
    return note


def test_it_sends_the_kinds_template_with_its_values_in_order(tencent, settings):
    note = booking_sms()
    assert delivery.deliver(note.pk) == "sent"
    [request] = tencent.requests
    assert request.headers["x-tc-action"] == "SendSms"
    assert request.headers["x-tc-version"] == "2021-01-11"
    assert request.headers["x-tc-region"] == "ap-guangzhou"
    assert "Credential=AKID-test/" in request.headers["authorization"]
    assert request.json == {
        "PhoneNumberSet": ["+8613800138000"], "SmsSdkAppId": "1400006666",
        "SignName": "装维服务", "TemplateId": settings.SMS_TEMPLATES["appointment_booked"][
            "template"],
        "TemplateParamSet": ["WO-7", "11-24 上午", "李师傅", "13900000001",
                             "https://fieldops.example/c/t/"],
        "SessionContext": f"fieldops-{note.pk}"}
    note.refresh_from_db()
    assert note.status == Status.SENT and note.gateway_id == "3369:1001"
    assert delivery.deliver(note.pk) == "skipped" and len(tencent.requests) == 1


def test_a_template_takes_only_the_values_it_names(tencent, settings):
    settings.SMS_TEMPLATES = {**settings.SMS_TEMPLATES,
                              "appointment_booked": {"template": "42", "params": ["url"]}}
    delivery.deliver(booking_sms().pk)
    assert tencent.requests[0].json["TemplateParamSet"] == ["https://fieldops.example/c/t/"]


def test_a_throttled_number_is_retried(tencent):
    tencent.refusals.append((200, {"Code": "LimitExceeded.PhoneNumberThirtySecondLimit",
                                   "Message": "30秒内下发短信条数超过上限"}))
    note = booking_sms()
    assert delivery.deliver(note.pk) == "retry"
    note.refresh_from_db()
    assert note.status == Status.PENDING
    assert "LimitExceeded.PhoneNumberThirtySecondLimit" in note.last_error


def test_a_throttled_request_is_retried(tencent):
    tencent.refusals.append((200, {"Error": {"Code": "RequestLimitExceeded",
                                             "Message": "请求的次数超过了频率限制"}}))
    note = booking_sms()
    assert delivery.deliver(note.pk) == "retry"
    note.refresh_from_db()
    assert "RequestLimitExceeded" in note.last_error


def test_an_invalid_number_fails_for_good_at_once(tencent):
    tencent.refusals.append((200, {"Code": "InvalidParameterValue.IncorrectPhoneNumber",
                                   "Message": "手机号格式错误"}))
    note = booking_sms()
    assert delivery.deliver(note.pk) == "failed"
    note.refresh_from_db()
    assert note.status == Status.FAILED and note.attempts == 1


def test_refused_keys_are_retried_and_logged_as_an_error(tencent, caplog):
    tencent.refusals.append((200, {"Error": {"Code": "AuthFailure.SecretIdNotFound",
                                             "Message": "The SecretId is not found"}}))
    note = booking_sms()
    with caplog.at_level(logging.ERROR, logger="fieldops.sms"):
        assert delivery.deliver(note.pk) == "retry"
    assert "AuthFailure.SecretIdNotFound" in caplog.text
    note.refresh_from_db()
    assert note.status == Status.PENDING and "AuthFailure.SecretIdNotFound" in note.last_error


def test_an_unreachable_gateway_is_retried(tencent, settings):
    settings.TENCENT_SMS_ENDPOINT = "http://127.0.0.1:9"
    assert delivery.deliver(booking_sms().pk) == "retry"


def _post(payload: object) -> object:
    return Client().post("/sms/receipts/tencent/receipt-token-0123456789/",
                         json.dumps(payload), content_type="application/json")


def test_the_status_callback_marks_the_row_once(tencent):
    note = booking_sms()
    delivery.deliver(note.pk)
    note.refresh_from_db()
    report = {"user_receive_time": "2026-11-23 17:00:05", "nationcode": "86",
              "mobile": "13800138000", "report_status": "FAIL", "errmsg": "MK:0005",
              "description": "用户关机", "sid": note.gateway_id}
    answer = _post([report])
    assert answer.status_code == 200 and answer.json() == {"result": 0, "errmsg": "OK"}
    note.refresh_from_db()
    assert note.delivery == Delivery.UNDELIVERED and note.delivery_error == "MK:0005"
    assert note.delivered_at == dt.datetime(2026, 11, 23, 9, 0, 5, tzinfo=dt.UTC)
    assert _post([{**report, "report_status": "SUCCESS"}]).status_code == 200
    note.refresh_from_db()
    assert note.delivery == Delivery.UNDELIVERED  # the first final report stands
    assert _post({"unexpected": True}).status_code == 200


def test_pulled_receipts_update_the_rows_once(tencent):
    note = booking_sms()
    delivery.deliver(note.pk)
    note.refresh_from_db()
    tencent.receipts.append({
        "UserReceiveTime": 1795942805, "CountryCode": "86", "SubscriberNumber": "13800138000",
        "PhoneNumber": "+8613800138000", "SerialNo": note.gateway_id, "ReportStatus": "SUCCESS",
        "Description": "DELIVRD", "SessionContext": f"fieldops-{note.pk}"})
    assert tasks.pull_sms_receipts() == 1
    pull = tencent.requests[-1]
    assert pull.headers["x-tc-action"] == "PullSmsSendStatus"
    assert pull.json == {"Limit": 100, "SmsSdkAppId": "1400006666"}
    note.refresh_from_db()
    assert note.delivery == Delivery.DELIVERED
    assert note.delivered_at == dt.datetime.fromtimestamp(1795942805, tz=dt.UTC)
    assert tasks.pull_sms_receipts() == 0  # run twice: nothing more
