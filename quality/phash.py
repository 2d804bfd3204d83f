"""Perceptual fingerprints of the visit's photos (R52: a photo that already belongs to
another order). ``imagehash``'s 64-bit pHash survives re-encoding, resizing and small
edits; two pictures of the same scene taken apart differ in many more bits.

Matching is an index lookup, not a scan: the hash is cut into four 16-bit bands, each
indexed with the upload time. Two hashes at most 3 bits apart agree on at least one band
(four bands, three differing bits: pigeonhole), so the candidates are the rows sharing a
band inside the window, and the exact distance is counted on those few.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Q
from PIL import Image

from .models import PhotoHash

MASK64 = (1 << 64) - 1


def photo_hash(image: Image.Image) -> int:
    """The 64-bit pHash of an image, as an unsigned integer."""
    import imagehash  # numpy (and scipy) only in the processes that hash photos

    bits = imagehash.phash(image, hash_size=8).hash.flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bool(bit))
    return value


def to_signed(value: int) -> int:
    """The unsigned 64-bit hash as PostgreSQL's signed bigint."""
    value &= MASK64
    return value - (1 << 64) if value >= 1 << 63 else value


def bands(value: int) -> tuple[int, int, int, int]:
    value &= MASK64
    return tuple((value >> (16 * i)) & 0xFFFF for i in range(4))  # type: ignore[return-value]


def distance(a: int, b: int) -> int:
    return ((a ^ b) & MASK64).bit_count()


def row_for(*, photo_id: int, order_id: int, kind: str, value: int,
            uploaded_at: dt.datetime) -> PhotoHash:
    b = bands(value)
    return PhotoHash(photo_id=photo_id, order_id=order_id, kind=kind, value=to_signed(value),
                     band0=b[0], band1=b[1], band2=b[2], band3=b[3], uploaded_at=uploaded_at)


@dataclasses.dataclass(frozen=True)
class Match:
    photo_id: int
    order_id: int
    kind: str
    uploaded_at: dt.datetime
    bits: int


def matches(value: int, *, exclude_order: int, since: dt.datetime, until: dt.datetime,
            max_bits: int = 3) -> list[Match]:
    """Photos of other orders uploaded in [since, until] whose hash is at most ``max_bits``
    (0-3) from ``value``, nearest first."""
    b = bands(value)
    where = Q()
    for i, band in enumerate(b):
        where |= Q(**{f"band{i}": band})
    rows: Iterable[Any] = (PhotoHash.objects.filter(where, uploaded_at__gte=since,
                                                    uploaded_at__lte=until)
                           .exclude(order_id=exclude_order)
                           .values_list("photo_id", "order_id", "kind", "uploaded_at", "value"))
    found = [Match(photo_id, order_id, kind, at, distance(value, other))
             for photo_id, order_id, kind, at, other in rows]
    return sorted((m for m in found if m.bits <= max_bits), key=lambda m: (m.bits, m.photo_id))
