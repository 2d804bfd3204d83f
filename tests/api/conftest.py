"""API personas: the 10010 call-centre system and a read-only reporting client, each with a
token, plus helpers to call the API as them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from api import services as api_services
from api.models import ApiClient, ClientRole

API = "/api/v1"


class Caller:
    """A test HTTP client that sends JSON with a token (or a session) and parses answers."""

    def __init__(self, token: str | None = None, client: Client | None = None) -> None:
        self.http = client or Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
              content_type: str = "application/json", headers: dict[str, str] | None = None,
              **query: Any) -> Any:
        if path.startswith("http://testserver"):
            path = path.removeprefix("http://testserver")  # a "next" link as given
        url = path if path.startswith("/") else f"{API}/{path}"
        all_headers = {**self.headers, **(headers or {})}
        fn = getattr(self.http, method)
        if method in ("get", "delete"):
            response = fn(url, query or None, headers=all_headers)
        else:
            data = raw if raw is not None else json.dumps(body if body is not None else {})
            response = fn(url, data, content_type=content_type, headers=all_headers)
        response.body = (json.loads(response.content)
                         if response.content and "json" in response.get("Content-Type", "")
                         else None)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self._call("get", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self._call("post", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self._call("delete", path, **kwargs)

    def create(self, body: dict[str, Any], key: str | None = None, **kwargs: Any) -> Any:
        headers = {"Idempotency-Key": key or str(uuid.uuid4()), **kwargs.pop("headers", {})}
        return self.post("work-orders/", body, headers=headers, **kwargs)


@pytest.fixture(autouse=True)
def _fresh_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test counts in its own namespace (never flush a Redis that others share)."""
    from api import authentication, throttling

    monkeypatch.setattr(throttling, "NAMESPACE", f"test-rate-{uuid.uuid4().hex}")
    authentication._PERMISSIONS.clear()
    authentication._BLOCKED.clear()
    throttling._local.clear()


@pytest.fixture
def call_centre(reference_data: None) -> ApiClient:
    return api_services.api_client_create(name="10010 呼叫中心", role=ClientRole.CALL_CENTRE)


@pytest.fixture
def reporting(reference_data: None) -> ApiClient:
    return api_services.api_client_create(name="BI 报表", role=ClientRole.REPORTING)


@pytest.fixture
def cc(call_centre: ApiClient) -> Caller:
    """The call-centre system, authenticated with its token."""
    _token, plain = api_services.api_token_issue(client=call_centre)
    return Caller(plain)


@pytest.fixture
def bi(reporting: ApiClient) -> Caller:
    _token, plain = api_services.api_token_issue(client=reporting)
    return Caller(plain)


@pytest.fixture
def as_session() -> Callable[[Any], Caller]:
    """A browser session of a staff member or technician."""

    def login(user: Any) -> Caller:
        http = Client()
        http.force_login(user)
        return Caller(client=http)

    return login


@pytest.fixture
def intake(east: Any) -> Callable[..., dict[str, Any]]:
    """A valid create body; keyword arguments override fields."""
    from fieldops import clock

    def body(**overrides: Any) -> dict[str, Any]:
        data: dict[str, Any] = {
            "channel": "hotline", "kind": "install", "service": "broadband",
            "access_type": "ftth",
            "customer": {"name": "张伟", "phone": "13812345678"},
            "address": "北京市东城区东四十条 88 号 3 单元 502", "area": east.code,
            "preferred_day": clock.today_local().isoformat(),
        }
        data.update(overrides)
        return data

    return body
