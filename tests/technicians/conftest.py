"""Fixtures for the technician pages: photos stored in a temporary folder, an empty SMS
outbox, logged-in clients."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from notifications.backends import outbox


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _sms() -> None:
    outbox.clear()


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice.user)
    return client


@pytest.fixture
def bob_client(bob: Any) -> Client:
    client = Client()
    client.force_login(bob.user)
    return client
