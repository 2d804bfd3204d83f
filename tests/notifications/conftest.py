from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from notifications.backends.templates import SMS_KINDS

from .gateways import FakeAliyun, FakeTencent

#: An approved template per SMS kind, as an operator maps them (codes made up).
TEMPLATES: dict[str, Any] = {kind: {"template": f"SMS_4765{i:05d}", "params": list(names)}
                             for i, (kind, names) in enumerate(SMS_KINDS.items())}
TEMPLATES["survey"] = {"template": "SMS_476500888", "params": ["number", "url"]}


@pytest.fixture
def aliyun(settings: Any) -> Iterator[FakeAliyun]:
    with FakeAliyun() as fake:
        settings.SMS_BACKEND = "notifications.backends.aliyun.AliyunSmsBackend"
        settings.ALIYUN_SMS_ENDPOINT = fake.url
        settings.ALIYUN_SMS_ACCESS_KEY_ID = "LTAI-test-key"
        settings.ALIYUN_SMS_ACCESS_KEY_SECRET = "test-secret"
        settings.SMS_SIGN_NAME = "装维服务"
        settings.SMS_TEMPLATES = TEMPLATES
        settings.SMS_RECEIPT_TOKEN = "receipt-token-0123456789"
        yield fake


@pytest.fixture
def tencent(settings: Any) -> Iterator[FakeTencent]:
    with FakeTencent() as fake:
        settings.SMS_BACKEND = "notifications.backends.tencent.TencentSmsBackend"
        settings.TENCENT_SMS_ENDPOINT = fake.url
        settings.TENCENT_SMS_SECRET_ID = "AKID-test"
        settings.TENCENT_SMS_SECRET_KEY = "test-key"
        settings.TENCENT_SMS_SDK_APP_ID = "1400006666"
        settings.TENCENT_SMS_REGION = "ap-guangzhou"
        settings.SMS_SIGN_NAME = "装维服务"
        settings.SMS_TEMPLATES = {kind: {"template": str(1900000 + i), "params": t["params"]}
                                  for i, (kind, t) in enumerate(TEMPLATES.items())}
        settings.SMS_RECEIPT_TOKEN = "receipt-token-0123456789"
        yield fake
