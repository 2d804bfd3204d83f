"""Tencent Cloud SMS (腾讯云短信, sms 2021-01-11) through its official SDK.

``SMS_BACKEND=notifications.backends.tencent.TencentSmsBackend``; needs ``pip install
'fieldops[tencent]'``, the ``TENCENT_SMS_*`` settings, ``SMS_SIGN_NAME`` and a template
per SMS kind (``templates``: Tencent templates number their values {1}, {2}..., so the
``params`` of each template give the order). The SDK is imported only when a message is
sent, so the product runs without it while another backend is configured.

Delivery receipts: the console's status callback (短信状态回调) posts to
``/sms/receipts/tencent/<SMS_RECEIPT_TOKEN>/`` (``parse_callback``), or beat pulls them
with PullSmsSendStatus (``pull_receipts``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from importlib import import_module
from typing import Any

from django.conf import settings

from . import PermanentSmsError, SentSms, SmsReceipt
from .templates import e164, gateway_time, split_endpoint, template_for

logger = logging.getLogger("fieldops.sms")

#: Refusals that no retry can change: the number, or the text made of this message's values.
PERMANENT = {
    "InvalidParameterValue.IncorrectPhoneNumber",
    "FailedOperation.PhoneNumberParseFail",
    "FailedOperation.PhoneNumberInBlacklist",  # the customer unsubscribed
    "FailedOperation.ContainSensitiveWord",
    "InvalidParameterValue.ContentLengthLimit",
    "InvalidParameterValue.TemplateParameterLengthLimit",
    "InvalidParameterValue.TemplateParameterFormatError",
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
    "UnsupportedOperation.UnsupportedRegion",
    "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone",
    "UnsupportedOperation.InternationalTemplateToChineseMainlandPhone",
}


class TencentSmsError(Exception):
    """The gateway refused the message this time (throttled, out of credit, down, our
    keys refused): the outbox retries it with backoff."""


def _refusal(code: str, message: str) -> Exception:
    text = f"Tencent Cloud SMS refused: {code}: {message}"
    if code in PERMANENT:
        return PermanentSmsError(text)
    if code.startswith(("AuthFailure", "UnauthorizedOperation")):
        logger.error("%s (check TENCENT_SMS_SECRET_ID / _KEY and TENCENT_SMS_SDK_APP_ID)", text)
    return TencentSmsError(text)


MODELS = "tencentcloud.sms.v20210111.models"


# The SDK's modules are imported when first used (import_module): the SDK is an optional
# extra, and the product runs without it while another backend is configured.
class TencentSmsBackend:
    sdk_modules = ("tencentcloud.sms", "tencentcloud.common")
    extra = "tencent"
    required_settings = ("TENCENT_SMS_SECRET_ID", "TENCENT_SMS_SECRET_KEY",
                         "TENCENT_SMS_SDK_APP_ID", "SMS_SIGN_NAME")

    def _client(self) -> Any:
        scheme, host = split_endpoint(settings.TENCENT_SMS_ENDPOINT)
        http = import_module("tencentcloud.common.profile.http_profile").HttpProfile(
            protocol=scheme, endpoint=host, reqTimeout=10)
        profile = import_module("tencentcloud.common.profile.client_profile").ClientProfile(
            httpProfile=http)
        credential = import_module("tencentcloud.common.credential").Credential(
            settings.TENCENT_SMS_SECRET_ID, settings.TENCENT_SMS_SECRET_KEY)
        return import_module("tencentcloud.sms.v20210111.sms_client").SmsClient(
            credential, settings.TENCENT_SMS_REGION, profile)

    def _call(self, action: str, request: Any) -> Any:
        sdk_error = import_module("tencentcloud.common.exception.tencent_cloud_sdk_exception")
        try:
            return getattr(self._client(), action)(request)
        except sdk_error.TencentCloudSDKException as exc:
            # The SDK names its own network failures ClientNetworkError / ServerNetworkError.
            raise _refusal(str(exc.code or "ClientNetworkError"), str(exc.message)) from exc

    def send(self, *, to: str, text: str, message_id: str) -> str | None:
        raise PermanentSmsError("Tencent Cloud SMS sends templates only; this message has "
                                "no kind")

    def send_template(self, *, to: str, kind: str, params: dict[str, Any], text: str,
                      message_id: str) -> str | None:
        """SendSms with the kind's template to one number in E.164; our ``message_id``
        goes as SessionContext. Returns the SerialNo."""
        models = import_module(MODELS)
        template = template_for(kind)
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [e164(to)]
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        request.SignName = settings.SMS_SIGN_NAME
        request.TemplateId = template.code
        request.TemplateParamSet = [value for _name, value in template.values(params)]
        request.SessionContext = message_id
        response = self._call("SendSms", request)
        statuses = response.SendStatusSet or []
        if not statuses:
            raise TencentSmsError("Tencent Cloud SMS answered without a send status")
        status = statuses[0]
        if status.Code != "Ok":
            raise _refusal(str(status.Code), str(status.Message))
        return str(status.SerialNo or "") or None

    def pull_receipts(self, *, sent: Sequence[SentSms]) -> list[SmsReceipt]:
        """PullSmsSendStatus: the receipts the gateway holds for this application (each is
        handed out once), whatever was sent; ``sent`` is not needed."""
        request = import_module(MODELS).PullSmsSendStatusRequest()
        request.Limit = 100
        request.SmsSdkAppId = settings.TENCENT_SMS_SDK_APP_ID
        try:
            response = self._call("PullSmsSendStatus", request)
        except (TencentSmsError, PermanentSmsError) as exc:
            logger.warning("%s", exc)
            return []
        receipts = []
        for item in response.PullSmsSendStatusSet or []:
            delivered = item.ReportStatus == "SUCCESS"
            at = (dt.datetime.fromtimestamp(item.UserReceiveTime, tz=dt.UTC)
                  if item.UserReceiveTime else None)
            receipts.append(SmsReceipt(
                gateway_id=str(item.SerialNo or ""), delivered=delivered, at=at,
                error="" if delivered else str(item.Description or ""),
                message_id=str(item.SessionContext or "")))
        return receipts


def parse_callback(payload: Any) -> list[SmsReceipt]:
    """The status callback: a JSON list of ``{"sid", "report_status", "errmsg",
    "description", "user_receive_time", "mobile", "nationcode"}``."""
    items = payload if isinstance(payload, list) else [payload]
    receipts = []
    for item in items:
        if not isinstance(item, dict) or not item.get("sid"):
            continue
        delivered = item.get("report_status") == "SUCCESS"
        receipts.append(SmsReceipt(
            gateway_id=str(item["sid"]), delivered=delivered,
            at=gateway_time(item.get("user_receive_time")),
            error="" if delivered else str(item.get("errmsg") or item.get("description") or ""),
            message_id=str(item.get("ext") or "")))
    return receipts


#: What the callback expects back.
CALLBACK_ANSWER = {"result": 0, "errmsg": "OK"}
