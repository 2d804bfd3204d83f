"""The SMS gateways' delivery-receipt callbacks: ``/sms/receipts/<gateway>/<token>/``.

Neither gateway signs its callbacks, so the URL carries a secret (``SMS_RECEIPT_TOKEN``):
set it, and give the console the whole URL. Without the token the callbacks don't exist."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import receipts
from .backends import SmsReceipt, aliyun, tencent

logger = logging.getLogger("fieldops.sms")

#: gateway -> (how its callback body reads, what it expects back)
GATEWAYS: dict[str, tuple[Callable[[Any], list[SmsReceipt]], dict[str, Any]]] = {
    "aliyun": (aliyun.parse_callback, aliyun.CALLBACK_ANSWER),
    "tencent": (tencent.parse_callback, tencent.CALLBACK_ANSWER),
}


@csrf_exempt
@require_POST
def sms_receipts(request: HttpRequest, gateway: str, token: str) -> HttpResponse:
    expected = settings.SMS_RECEIPT_TOKEN
    if not expected or gateway not in GATEWAYS or not hmac.compare_digest(
            token.encode(), expected.encode()):
        raise Http404
    parse, answer = GATEWAYS[gateway]
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        return JsonResponse({"error": "body is not JSON"}, status=400)
    changed = receipts.record_all(parse(payload))
    logger.debug("%s SMS receipts from %s recorded", changed, gateway)
    return JsonResponse(answer)
