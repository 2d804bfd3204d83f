"""R52: each suspicion signal on a crafted order, with its evidence in words; the clean
order next to it raises none."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import translation
from PIL import Image

from fieldops import clock
from quality import phash, sampling, suspicion
from quality.models import Inspection, InspectionPolicy, PhotoHash, Signal, SignalKind

from .helpers import complete, picture

pytestmark = pytest.mark.django_db


@pytest.fixture
def morning():
    day = clock.today_local() - dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=clock.now().astimezone().tzinfo)


def _kinds(order) -> set[str]:
    found = suspicion.find([suspicion.Completed.of(order)])
    return {f.kind for f in found if f.order_id == order.pk}


def test_a_clean_completion_raises_no_signal(make_order, alice, morning):
    order = complete(make_order, alice, check_in_at=morning, photo=picture(1))
    assert _kinds(order) == set()


def test_a_check_in_3_km_from_the_address_is_suspicious(make_order, alice, morning):
    # R52, R17
    far = complete(make_order, alice, check_in_at=morning, offset_m=(3000, 0))
    near = complete(make_order, alice, check_in_at=morning, offset_m=(200, 0))
    found = [f for f in suspicion.find([suspicion.Completed.of(far),
                                        suspicion.Completed.of(near)])
             if f.kind == SignalKind.FAR_CHECK_IN]
    assert [f.order_id for f in found] == [far.pk]
    assert 2900 <= found[0].evidence["metres"] <= 3100
    assert found[0].evidence["limit_m"] == 500


def test_completion_2_minutes_after_check_in_is_suspicious(make_order, alice, morning):
    # R52: the policy's least minutes for an install is 20
    quick = complete(make_order, alice, check_in_at=morning, minutes=2)
    assert _kinds(quick) == {SignalKind.QUICK_COMPLETION}
    policy = InspectionPolicy.objects.get(area__isnull=True)
    policy.min_minutes_install = 1
    policy.save()
    assert _kinds(quick) == set()  # the limit is the policy's, not a constant


def test_a_signature_drawn_in_0_2_seconds_is_suspicious(make_order, alice, morning):
    # R52, R26
    fast = complete(make_order, alice, check_in_at=morning, signature_ms=200)
    assert _kinds(fast) == {SignalKind.FAST_SIGNATURE}
    found = suspicion.find([suspicion.Completed.of(fast)])
    assert found[0].evidence["ms"] == 200


def test_the_same_photo_on_two_orders_is_found_by_its_fingerprint(make_order, alice, bob,
                                                                   west, morning):
    # R52: the second order's check-in photo is the first's, re-encoded smaller
    first = complete(make_order, alice, check_in_at=morning - dt.timedelta(days=3),
                     photo=picture(7))
    image = Image.open(io.BytesIO(picture(7))).resize((480, 360))
    again = io.BytesIO()
    image.save(again, format="JPEG", quality=70)
    second = complete(make_order, alice, check_in_at=morning, photo=again.getvalue())
    other = complete(make_order, alice, check_in_at=morning, photo=picture(8))
    # each photo got a pending fingerprint row with its upload; the jobs were queued for
    # after commit (never run here), so the search hashes the pending photos first
    assert PhotoHash.objects.filter(hashed_at__isnull=True).count() == 3
    found = [f for f in suspicion.find([suspicion.Completed.of(second),
                                        suspicion.Completed.of(other)])
             if f.kind == SignalKind.PHOTO_REUSED]
    assert [f.order_id for f in found] == [second.pk]
    assert found[0].evidence["other_order"] == first.number
    assert found[0].evidence["bits"] <= 3
    assert not PhotoHash.objects.filter(hashed_at__isnull=True).exists()


def test_a_photo_outside_the_window_is_not_matched(make_order, alice, morning):
    complete(make_order, alice, check_in_at=morning - dt.timedelta(days=100),
             photo=picture(9))
    second = complete(make_order, alice, check_in_at=morning, photo=picture(9))
    assert SignalKind.PHOTO_REUSED not in _kinds(second)


def test_hashes_up_to_3_bits_apart_share_a_band_and_4_need_not():
    # The pigeonhole the index relies on (R52: a match is an index lookup, not a scan).
    base = 0x0123_4567_89AB_CDEF
    # one bit in each of three bands: every band but one differs, the fourth still matches
    three = base ^ (1 << 1) ^ (1 << 17) ^ (1 << 33)
    four = three ^ (1 << 49)  # all four bands differ: beyond the pigeonhole, not found
    assert phash.distance(base, three) == 3
    assert any(a == b for a, b in zip(phash.bands(base), phash.bands(three), strict=True))
    assert not any(a == b for a, b in zip(phash.bands(base), phash.bands(four), strict=True))


def test_the_day_job_stores_each_signal_with_its_evidence_in_words(make_order, alice, morning):
    # R52: every order with a signal is inspected, its evidence said in words
    order = complete(make_order, alice, check_in_at=morning, minutes=2, signature_ms=200,
                     offset_m=(3000, 0))
    sampling.run_day(morning.date())
    inspection = Inspection.objects.get(order=order)
    signals = {s.kind: s for s in Signal.objects.filter(inspection=inspection)}
    assert set(signals) == {SignalKind.QUICK_COMPLETION, SignalKind.FAST_SIGNATURE,
                            SignalKind.FAR_CHECK_IN}
    with translation.override("en"):
        words = signals[SignalKind.FAR_CHECK_IN].describe()
        assert "km from the address" in words and "500 m" in words
        assert "2 minutes after checking in" in signals[SignalKind.QUICK_COMPLETION].describe()
        assert "0.2 s" in signals[SignalKind.FAST_SIGNATURE].describe()
    with translation.override("zh-hans"):
        assert "公里" in signals[SignalKind.FAR_CHECK_IN].describe()
