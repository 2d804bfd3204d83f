"""Photos (R17, R23): type and size checked, resized server-side with Pillow, stripped of
metadata and stored through Django's storage API."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from django.utils import translation
from PIL import Image

from workorders import images, services
from workorders.errors import RuleViolation
from workorders.events import OrderAction
from workorders.models import Photo, State
from workorders.services import report as report_services

from .helpers import jpeg, upload


def test_a_large_photo_is_resized_and_its_metadata_dropped(make_order, alice):
    # R23
    order = make_order(State.ON_SITE, technician=alice)
    photo = services.work_order_add_photo(order=order, by=alice.user,
                                          image=upload(jpeg(3000, 2000, exif_gps=True)),
                                          kind=Photo.Kind.SPEED_TEST)
    with photo.image.open("rb") as f:
        stored = Image.open(io.BytesIO(f.read()))
    assert stored.format == "JPEG"
    # The EXIF orientation was applied (portrait now) and then dropped with the rest.
    assert (stored.width, stored.height) == (1067, 1600) == (photo.width, photo.height)
    assert not stored.getexif()
    assert order.events.filter(action=OrderAction.ADD_PHOTO).get().payload["sha256"] == photo.sha256


def test_a_file_that_is_not_an_image_is_refused(make_order, alice):
    order = make_order(State.ON_SITE, technician=alice)
    with pytest.raises(RuleViolation) as err:
        services.work_order_add_photo(order=order, by=alice.user, kind="installation",
                                      image=upload(b"%PDF-1.4 not a photo", "x.jpg"))
    assert err.value.field == "image"
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    with pytest.raises(RuleViolation):
        services.work_order_add_photo(order=order, by=alice.user, kind="installation",
                                      image=upload(gif.getvalue(), "x.gif", "image/gif"))
    assert not order.photos.exists()


def test_a_photo_over_the_size_limit_is_refused_on_the_page(alice_client, make_order, alice,
                                                            settings):
    settings.PHOTO_MAX_UPLOAD_BYTES = 20_000
    order = make_order(State.ON_SITE, technician=alice)
    big = jpeg(1200, 900)
    assert len(big) > 20_000
    response = alice_client.post(reverse("tech:step", args=[order.pk, "photo"]), {
        "version": order.version, "kind": "installation", "image": upload(big)})
    assert response.status_code == 422
    assert "MB" in response.content.decode()
    assert not order.photos.exists()


def test_a_photo_that_finds_every_image_slot_taken_is_asked_again_on_the_page(
        alice_client, make_order, alice, settings):
    # Busy is a 503 that says "send it again", nothing stored; never a 500.
    settings.IMAGE_WORK_CONCURRENCY = 1
    settings.IMAGE_WORK_WAIT_SECONDS = 0.05
    order = make_order(State.ON_SITE, technician=alice)
    with images.image_work(), translation.override("en"):
        response = alice_client.post(reverse("tech:step", args=[order.pk, "photo"]), {
            "version": order.version, "kind": "installation", "image": upload()},
            HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert "send this one again" in response.content.decode()
    assert not order.photos.exists()


def test_a_truncated_image_is_refused(make_order, alice):
    order = make_order(State.ON_SITE, technician=alice)
    with pytest.raises(RuleViolation):
        services.work_order_add_photo(order=order, by=alice.user, kind="installation",
                                      image=upload(jpeg()[:400]))


def test_photos_are_only_added_on_site(make_order, alice):
    # R23: before the customer signs, so the customer sees them
    order = make_order(State.SIGNED_OFF, technician=alice)
    with pytest.raises(Exception) as err:
        services.work_order_add_photo(order=order, by=alice.user, kind="installation",
                                      image=upload())
    assert err.value.__class__.__name__ == "IllegalTransition"


def test_my_photo_is_served_to_me_from_the_storage(alice_client, make_order, alice):
    order = make_order(State.ON_SITE, technician=alice)
    photo = services.work_order_add_photo(order=order, by=alice.user, kind="installation",
                                          image=upload())
    response = alice_client.get(reverse("tech:photo", args=[order.pk, photo.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_a_photo_is_never_kept_in_the_phones_cache(alice_client, make_order, alice):
    # Defect: photos were sent "private, max-age=3600", so they stayed in a shared
    # phone's cache after the technician logged out.
    order = make_order(State.ON_SITE, technician=alice)
    photo = services.work_order_add_photo(order=order, by=alice.user, kind="installation",
                                          image=upload())
    response = alice_client.get(reverse("tech:photo", args=[order.pk, photo.pk]))
    assert "no-store" in response["Cache-Control"]
    assert "max-age=3600" not in response["Cache-Control"]


def _stored_files(settings) -> list[str]:
    from pathlib import Path

    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_photo_whose_step_fails_leaves_no_file_behind(make_order, alice, settings,
                                                        monkeypatch):
    # R23: the file is stored before the row; if the step's transaction then fails, the
    # file goes too (otherwise every failed upload would leave an orphan in the storage).
    order = make_order(State.ON_SITE, technician=alice)

    def fail(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(report_services, "record_event", fail)
    with pytest.raises(RuntimeError):
        services.work_order_add_photo(order=order, by=alice.user, image=upload(jpeg()),
                                      kind=Photo.Kind.INSTALLATION)
    assert not order.photos.exists()
    assert _stored_files(settings) == []
    monkeypatch.undo()
    services.work_order_add_photo(order=order, by=alice.user, image=upload(jpeg()),
                                  kind=Photo.Kind.INSTALLATION)
    assert len(_stored_files(settings)) == 1  # a step that succeeds keeps its file
