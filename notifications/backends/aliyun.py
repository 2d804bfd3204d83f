"""Alibaba Cloud SMS (阿里云短信服务, Dysmsapi 2017-05-25) through its official SDK.

``SMS_BACKEND=notifications.backends.aliyun.AliyunSmsBackend``; needs ``pip install
'fieldops[aliyun]'``, the ``ALIYUN_SMS_*`` settings, ``SMS_SIGN_NAME`` and a template per
SMS kind (``templates``). The SDK is imported only when a message is sent, so the product
runs without it while another backend is configured.

Delivery receipts: the console's HTTP batch push (短信发送状态报告, "SmsReport") posts to
``/sms/receipts/aliyun/<SMS_RECEIPT_TOKEN>/`` (``parse_callback``), or beat asks
QuerySendDetails for each sent message still without one (``pull_receipts``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from importlib import import_module
from typing import Any

from django.conf import settings

from . import PermanentSmsError, SentSms, SmsReceipt
from .templates import GATEWAY_ZONE, e164, gateway_time, split_endpoint, template_for

logger = logging.getLogger("fieldops.sms")

#: Refusals that no retry can change: the number, or the text made of this message's values.
PERMANENT = {
    "isv.MOBILE_NUMBER_ILLEGAL",  # not a valid number
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.BLACK_KEY_CONTROL_LIMIT",  # a blocked word in the values
    "isv.PARAM_LENGTH_LIMIT",  # a value longer than the template allows
    "isv.PARAM_NOT_SUPPORT_URL",
    "isv.INVALID_JSON_PARAM",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
}
#: Our keys or account are refused: retried (nothing is lost while an operator fixes the
#: keys) but logged as an error on every attempt.
AUTH_PREFIXES = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden",
                 "isv.ACCOUNT_NOT_EXISTS", "isv.ACCOUNT_ABNORMAL")


class AliyunSmsError(Exception):
    """The gateway refused the message this time (throttled, out of credit, down, our
    keys refused): the outbox retries it with backoff."""


def aliyun_phone(phone: str) -> str:
    """Mainland numbers go as their 11 digits; others as country code and number."""
    number = e164(phone)
    return number[3:] if number.startswith("+86") else number[1:]


def _refusal(code: str, message: str) -> Exception:
    text = f"Alibaba Cloud SMS refused: {code}: {message}"
    if code in PERMANENT:
        return PermanentSmsError(text)
    if code.startswith(AUTH_PREFIXES):
        logger.error("%s (check ALIYUN_SMS_ACCESS_KEY_ID / _SECRET)", text)
    return AliyunSmsError(text)


# The SDK's modules are imported when first used (import_module): the SDK is an optional
# extra, and the product runs without it while another backend is configured.
class AliyunSmsBackend:
    sdk_modules = ("alibabacloud_dysmsapi20170525", "alibabacloud_tea_openapi")
    extra = "aliyun"
    required_settings = ("ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET",
                         "SMS_SIGN_NAME")

    def _client(self) -> Any:
        scheme, host = split_endpoint(settings.ALIYUN_SMS_ENDPOINT)
        config = import_module("alibabacloud_tea_openapi.models").Config(
            access_key_id=settings.ALIYUN_SMS_ACCESS_KEY_ID,
            access_key_secret=settings.ALIYUN_SMS_ACCESS_KEY_SECRET,
            endpoint=host, protocol=scheme, connect_timeout=5000, read_timeout=10000)
        return import_module("alibabacloud_dysmsapi20170525.client").Client(config)

    def send(self, *, to: str, text: str, message_id: str) -> str | None:
        raise PermanentSmsError("Alibaba Cloud SMS sends templates only; this message has "
                                "no kind")

    def send_template(self, *, to: str, kind: str, params: dict[str, Any], text: str,
                      message_id: str) -> str | None:
        """SendSms with the kind's template; our ``message_id`` goes as OutId, which the
        receipts echo. Returns the BizId."""
        models = import_module("alibabacloud_dysmsapi20170525.models")
        template = template_for(kind)
        values = dict(template.values(params))
        request = models.SendSmsRequest(
            phone_numbers=aliyun_phone(to), sign_name=settings.SMS_SIGN_NAME,
            template_code=template.code, out_id=message_id,
            template_param=json.dumps(values, ensure_ascii=False) if values else None)
        try:
            response = self._client().send_sms(request)
        except Exception as exc:  # the SDK's ClientException / ThrottlingException / ...
            code = getattr(exc, "code", None)
            if not code:
                raise AliyunSmsError(f"Alibaba Cloud SMS unreachable: {exc}") from exc
            raise _refusal(str(code), str(getattr(exc, "message", exc))) from exc
        body = response.body
        if body.code != "OK":
            raise _refusal(str(body.code), str(body.message))
        return str(body.biz_id or "") or None

    def pull_receipts(self, *, sent: Sequence[SentSms]) -> list[SmsReceipt]:
        """QuerySendDetails, one message at a time (the API's way); a message the gateway
        still waits on gives no receipt."""
        models = import_module("alibabacloud_dysmsapi20170525.models")
        client = self._client()
        receipts = []
        for message in sent:
            request = models.QuerySendDetailsRequest(
                phone_number=aliyun_phone(message.to), biz_id=message.gateway_id,
                send_date=message.sent_at.astimezone(GATEWAY_ZONE).strftime("%Y%m%d"),
                page_size=10, current_page=1)
            try:
                body = client.query_send_details(request).body
            except Exception as exc:
                logger.warning("Alibaba Cloud SMS receipt query failed: %s", exc)
                break  # the next pull asks again
            if body.code != "OK" or body.sms_send_detail_dtos is None:
                logger.warning("Alibaba Cloud SMS receipt query refused: %s: %s",
                               body.code, body.message)
                continue
            for detail in body.sms_send_detail_dtos.sms_send_detail_dto or []:
                if detail.send_status not in (2, 3):  # 1: still waiting for the phone
                    continue
                receipts.append(SmsReceipt(
                    gateway_id=message.gateway_id, delivered=detail.send_status == 3,
                    at=gateway_time(detail.receive_date),
                    error="" if detail.send_status == 3 else str(detail.err_code or ""),
                    message_id=str(detail.out_id or "")))
                break
        return receipts


def parse_callback(payload: Any) -> list[SmsReceipt]:
    """The HTTP batch push of delivery reports: a JSON list of
    ``{"biz_id", "out_id", "success", "err_code", "report_time", ...}``."""
    items = payload if isinstance(payload, list) else [payload]
    receipts = []
    for item in items:
        if not isinstance(item, dict) or not (item.get("biz_id") or item.get("out_id")):
            continue
        delivered = item.get("success") in (True, "true", "True")
        receipts.append(SmsReceipt(
            gateway_id=str(item.get("biz_id") or ""), delivered=delivered,
            at=gateway_time(item.get("report_time")),
            error="" if delivered else str(item.get("err_code") or item.get("err_msg") or ""),
            message_id=str(item.get("out_id") or "")))
    return receipts


#: What the push expects back, or it pushes again.
CALLBACK_ANSWER = {"code": 0, "msg": "成功"}
