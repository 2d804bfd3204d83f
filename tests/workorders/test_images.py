"""Photos and signatures decoded within bounds (issue 18): a small file that declares a
huge image is refused before decoding, a large JPEG is decoded already scaled down, and
only a few images are decoded at once in a process."""

from __future__ import annotations

import io
import struct
import threading
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image, ImageFile

from workorders import images
from workorders.errors import RuleViolation
from workorders.images import ImageBusy, prepare_image

from ..fieldapp.helpers import jpeg


@pytest.fixture(autouse=True)
def _in_english():
    """The messages are read as written (their zh-Hans text is in locale/)."""
    with translation.override("en"):
        yield


def one_colour_png(width: int, height: int) -> bytes:
    """A grey PNG of ``width`` × ``height``, written row by row: a few hundred KB on disk
    however large it says it is (the decompression-bomb shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    packer = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * width  # filter byte, then one grey byte per pixel
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


@pytest.fixture
def decoded(monkeypatch) -> list[tuple[int, int]]:
    """The size of every image actually decoded (``ImageFile.load`` with data still to
    decode: a load of an image decoded already, as saving one calls, decodes nothing)."""
    sizes: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def recording_load(self):
        if self.tile:
            sizes.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    return sizes


def as_upload(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def test_a_small_png_that_declares_48_megapixels_is_refused_before_decoding(decoded):
    # Defect: a 152 KB one-colour PNG of 8000×6000 was accepted as a work photo and took
    # a web process from about 110 MB to 550 MB while it was decoded.
    bomb = one_colour_png(8000, 6000)
    assert len(bomb) < 400_000
    with pytest.raises(RuleViolation) as refused:
        prepare_image(as_upload(bomb, "photo.png"), field="image", rule="R23")
    assert "8000×6000" in refused.value.message and "million pixels" in refused.value.message
    assert refused.value.field == "image"
    assert decoded == []


def test_a_large_jpeg_is_decoded_already_scaled_down(decoded, settings):
    # Defect: a JPEG was decoded at full size and only then shrunk to PHOTO_MAX_SIDE.
    settings.IMAGE_MAX_PIXELS = 1_000_000
    settings.PHOTO_MAX_SIDE = 400
    prepared = prepare_image(as_upload(jpeg(2400, 1800), "photo.jpg"), field="image",
                             rule="R23")
    assert (prepared.width, prepared.height) == (400, 300)
    assert decoded and all(w * h <= settings.IMAGE_MAX_PIXELS for w, h in decoded)


def test_a_landscape_jpeg_is_decoded_at_the_smallest_scale_that_covers_the_stored_size(
        decoded, settings):
    # 2000×1500 stored at 400×300: decoded at 1/4 (500×375), not at 1/2 as a square
    # 400×400 request would need.
    settings.PHOTO_MAX_SIDE = 400
    prepared = prepare_image(as_upload(jpeg(2000, 1500), "photo.jpg"), field="image",
                             rule="R23")
    assert (prepared.width, prepared.height) == (400, 300)
    assert set(decoded) == {(500, 375)}


def test_a_png_within_the_limit_is_still_taken(settings):
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), (10, 200, 30)).save(out, "PNG")
    prepared = prepare_image(as_upload(out.getvalue(), "screen.png"), field="image",
                             rule="R23")
    assert prepared.content[:2] == b"\xff\xd8" and prepared.width == 1200


def test_image_work_waits_for_a_free_slot_then_says_try_again(settings):
    # Defect: any number of uploads were decoded at once (four bombs: 1.9 GB).
    settings.IMAGE_WORK_CONCURRENCY = 1
    settings.IMAGE_WORK_WAIT_SECONDS = 0.05
    with images.image_work(), pytest.raises(ImageBusy) as busy:
        prepare_image(as_upload(jpeg(), "photo.jpg"), field="image", rule="R23")
    assert busy.value.status == 503 and "again" in busy.value.message
    # The slot is free again once the first image is done.
    assert prepare_image(as_upload(jpeg(), "photo.jpg"), field="image", rule="R23").width


def test_image_work_lets_as_many_run_as_the_setting_says(settings):
    settings.IMAGE_WORK_CONCURRENCY = 2
    settings.IMAGE_WORK_WAIT_SECONDS = 5
    inside, release = threading.Barrier(3, timeout=5), threading.Event()

    def work() -> None:
        with images.image_work():
            inside.wait()
            release.wait(5)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()  # both threads hold a slot
    settings.IMAGE_WORK_WAIT_SECONDS = 0.05
    try:
        with pytest.raises(ImageBusy):
            prepare_image(as_upload(jpeg(), "photo.jpg"), field="image", rule="R23")
    finally:
        release.set()
        for thread in threads:
            thread.join()
