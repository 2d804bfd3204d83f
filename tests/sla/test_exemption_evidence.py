"""The force-majeure evidence photo (R50) goes through the photos' pipeline
(``workorders.images``) on the technician page and on the desk: decoded pixels capped,
re-encoded (EXIF with GPS and appended bytes gone), refused with a clear message when too
large; and it is served only through a role-checked view that no browser keeps.

Defect (issue 18 item 6): a 152 KB one-colour 8000×6000 PNG with EXIF GPS and bytes
appended was accepted, stored byte for byte and served from the public /media/ URL."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation
from PIL import Image

from sla.exemptions import Exemption
from tests.fieldapp.helpers import jpeg, upload
from workorders.models import State

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
APPENDED = b"APPENDED-SECRET-BYTES"
GPS_TAG = 0x8825


@pytest.fixture
def at_t0():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def with_gps(img: Image.Image, fmt: str) -> bytes:
    """``img`` saved with an EXIF GPS position, and bytes appended after its end."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_TAG] = {1: "N", 2: (39.0, 54.0, 26.0), 3: "E", 4: (116.0, 23.0, 29.0)}
    out = io.BytesIO()
    img.save(out, fmt, exif=exif.tobytes())
    return out.getvalue() + APPENDED


def bomb_png() -> bytes:
    """One colour, 8000×6000 pixels (48 million), a small file."""
    return with_gps(Image.new("1", (8000, 6000), 1), "PNG")


def gps_jpeg() -> bytes:
    return with_gps(Image.open(io.BytesIO(jpeg(1600, 1200))), "JPEG")


def stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_test_images_are_what_the_probe_sent():
    png = bomb_png()
    assert len(png) < 200_000 and png.endswith(APPENDED)
    with Image.open(io.BytesIO(png)) as img:
        assert img.size == (8000, 6000) and GPS_TAG in img.getexif()
    with Image.open(io.BytesIO(gps_jpeg())) as img:
        assert img.format == "JPEG" and GPS_TAG in img.getexif()


def assert_re_encoded(exemption: Exemption, settings: Any) -> bytes:
    with exemption.evidence.open("rb") as f:
        stored = f.read()
    assert APPENDED not in stored and b"PhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as kept:
        assert kept.format == "JPEG" and not kept.getexif()
        assert max(kept.size) <= settings.PHOTO_MAX_SIDE
    assert exemption.evidence.name.endswith(".jpg")
    assert not exemption.evidence.name.startswith("exemptions/photo")  # not the upload's name
    return stored


# --- The technician page ---------------------------------------------------------------

def declare_on_the_page(client: Client, order: Any, photo: bytes, name: str) -> Any:
    return client.post(reverse("tech:step", args=[order.pk, "force-majeure"]), {
        "version": order.version, "kind": "weather", "reason": "暴雨封路", "since": "60",
        "lasts": "120", "evidence": upload(photo, name)}, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_a_huge_png_from_the_phone_is_refused_and_nothing_is_stored(
        at_t0, alice_client, make_order, alice, settings):
    order = make_order(State.SCHEDULED, technician=alice)
    with translation.override("en"):
        response = declare_on_the_page(alice_client, order, bomb_png(), "photo.png")
    assert response.status_code == 422
    page = response.content.decode()
    assert "8000×6000 pixels" in page and "million pixels" in page
    assert not Exemption.objects.exists() and stored_files(settings) == []


@pytest.mark.django_db
def test_a_photo_from_the_phone_is_stored_re_encoded_without_its_gps(
        at_t0, alice_client, make_order, alice, settings):
    order = make_order(State.SCHEDULED, technician=alice)
    response = declare_on_the_page(alice_client, order, gps_jpeg(), "photo.jpg")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert_re_encoded(Exemption.objects.get(), settings)


# --- The desk ---------------------------------------------------------------------------

def declare_on_the_desk(client: Client, area: Any, photo: bytes, name: str) -> Any:
    return client.post(reverse("admin:sla_exemption_add"), {
        "kind": "weather", "reason": "暴雨", "area": area.pk, "starts_at_0": "2026-11-24",
        "starts_at_1": "07:00", "ends_at_0": "2026-11-24", "ends_at_1": "09:00",
        "evidence": upload(photo, name)}, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_a_huge_png_on_the_desk_is_an_error_on_the_form(at_t0, dispatcher, east, settings):
    with translation.override("en"):
        response = declare_on_the_desk(client_for(dispatcher), east, bomb_png(), "p.png")
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "8000×6000 pixels" in errors["evidence"][0]
    assert not Exemption.objects.exists() and stored_files(settings) == []


@pytest.mark.django_db
def test_the_desk_stores_the_photo_re_encoded_and_serves_it_to_the_office_only(
        at_t0, dispatcher, supervisor, alice, east, settings, client):
    response = declare_on_the_desk(client_for(dispatcher), east, gps_jpeg(), "gps.jpg")
    assert response.status_code == 302, response.content.decode()[:2000]
    exemption = Exemption.objects.get()
    stored = assert_re_encoded(exemption, settings)

    # The record links to the role-checked view, never to the storage's public URL.
    change = client_for(supervisor).get(reverse("admin:sla_exemption_change",
                                                args=[exemption.pk])).content.decode()
    url = reverse("admin:sla_exemption_evidence", args=[exemption.pk])
    assert url in change and exemption.evidence.url not in change
    assert settings.MEDIA_URL not in change

    for reader in (supervisor, dispatcher):
        served = client_for(reader).get(url)
        assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
        assert b"".join(served.streaming_content) == stored
        directives = {d.strip() for d in served["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives
    assert client_for(alice.user).get(url).status_code in (302, 403)  # a technician
    assert client.get(url).status_code == 302  # nobody signed in: the login page
