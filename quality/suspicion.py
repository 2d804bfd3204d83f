"""The suspicion signals of R52, found over a batch of completed orders at once (the day's
completions: tens of thousands), each with its evidence:

* ``far_check_in``: the check-in's position (the check-in event's payload, R17) farther
  from the address (``geo``: the geocoder's place of the order) than the policy allows;
* ``photo_reused``: a check-in, installation or speed-test photo whose perceptual hash is
  within the policy's bits of a photo of another order in the window (``phash``; photos
  whose fingerprint job has not run yet are hashed first, ``fingerprints``);
* ``quick_completion``: the completion filed sooner after the check-in than the policy's
  least minutes for the kind;
* ``fast_signature``: the customer's signature drawn faster, or in fewer strokes, than the
  policy allows (its strokes carry the milliseconds since the first touch, R26);
* ``survey_from_tech``: the completion's survey answered through the customer's link from
  the device (its cookie), or the network (its /24 or /48), that the order's technician
  used for a step within the policy's hours of the answer (``RequestOrigin``, keyed
  hashes kept by ``handlers.request_origin``); or recorded by a callback or through the
  API by the technician themself, or from the technician's device.

Each batch costs a handful of queries per thousand orders, never one per order (except the
photo lookup on databases other than PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

from surveys.models import AnswerChannel
from technicians.models import Technician
from workorders.events import OrderAction
from workorders.models import Signature, WorkOrder, WorkOrderEvent

from . import fingerprints, geo, phash
from .models import InspectionPolicy, PhotoHash, RequestOrigin, SignalKind

CHUNK = 5000
SMS = AnswerChannel.SMS


@dataclasses.dataclass(frozen=True)
class Completed:
    """What the signals need of a completed order."""

    id: int
    kind: str
    area_id: int
    technician_id: int | None
    round: int
    completed_at: dt.datetime

    @classmethod
    def of(cls, order: WorkOrder) -> Completed:
        assert order.completed_at is not None
        return cls(order.pk, order.kind, order.area_id, order.technician_id,
                   order.rework_round, order.completed_at)


@dataclasses.dataclass(frozen=True)
class Found:
    order_id: int
    round: int
    kind: str
    evidence: dict[str, Any]


class Policies:
    """Each area's inspection policy, the default where an area has none."""

    def __init__(self) -> None:
        rows = list(InspectionPolicy.objects.all())
        self.default = next((p for p in rows if p.area_id is None), None) or InspectionPolicy()
        self.by_area = {p.area_id: p for p in rows if p.area_id is not None}

    def __call__(self, area_id: int) -> InspectionPolicy:
        return self.by_area.get(area_id, self.default)

    @property
    def widest_survey_window(self) -> dt.timedelta:
        return dt.timedelta(hours=max([self.default.survey_origin_window_hours,
                                       *(p.survey_origin_window_hours
                                         for p in self.by_area.values())]))

    @property
    def widest_photo_window(self) -> int:
        return max([self.default.photo_window_days,
                    *(p.photo_window_days for p in self.by_area.values())])


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def find(orders: Sequence[Completed], *, policies: Policies | None = None) -> list[Found]:
    """Every signal of these completed orders (R52)."""
    policies = policies or Policies()
    found: list[Found] = []
    by_id = {o.id: o for o in orders}
    found += _check_ins(by_id, policies)
    found += _signatures(by_id, policies)
    found += _photos(by_id, policies)
    found += survey_origins(by_id, policies)
    return found


def _check_ins(by_id: dict[int, Completed], policies: Policies) -> list[Found]:
    """far_check_in and quick_completion, from the last check-in before completion."""
    last: dict[int, tuple[dt.datetime, dict[str, Any]]] = {}
    for chunk in _chunks(list(by_id)):
        rows = (WorkOrderEvent.objects.filter(order_id__in=chunk, action=OrderAction.CHECK_IN)
                .values_list("order_id", "at", "payload"))
        for order_id, at, payload in rows:
            order = by_id[order_id]
            if at <= order.completed_at and (order_id not in last or at > last[order_id][0]):
                last[order_id] = (at, payload or {})
    places = geo.order_coordinates(
        [i for i, (_at, p) in last.items() if "latitude" in p and "longitude" in p])
    found = []
    for order_id, (at, payload) in last.items():
        order = by_id[order_id]
        policy = policies(order.area_id)
        minutes = (order.completed_at - at).total_seconds() / 60
        limit = policy.min_minutes(order.kind)
        if minutes < limit:
            found.append(Found(order_id, order.round, SignalKind.QUICK_COMPLETION, {
                "minutes": int(minutes), "limit_minutes": limit, "order_kind": order.kind,
                "checked_in_at": _iso(at), "completed_at": _iso(order.completed_at)}))
        place = places.get(order_id)
        if place is not None:
            metres = geo.metres_between((float(payload["latitude"]),
                                         float(payload["longitude"])), place)
            if metres > policy.max_check_in_distance_m:
                found.append(Found(order_id, order.round, SignalKind.FAR_CHECK_IN, {
                    "metres": round(metres), "limit_m": policy.max_check_in_distance_m,
                    "checked_in_at": _iso(at)}))
    return found


def signature_timing(strokes: Any) -> tuple[int, int]:
    """(milliseconds from the first touch to the last, strokes) of a drawn signature."""
    times = [int(point[2]) for stroke in strokes or [] for point in stroke
             if isinstance(point, list | tuple) and len(point) >= 3]
    drawn = [stroke for stroke in strokes or [] if stroke]
    return (max(times) - min(times) if times else 0), len(drawn)


def _signatures(by_id: dict[int, Completed], policies: Policies) -> list[Found]:
    last: dict[int, tuple[dt.datetime, Any]] = {}
    for chunk in _chunks(list(by_id)):
        for order_id, signed_at, strokes in (Signature.objects.filter(order_id__in=chunk)
                                             .values_list("order_id", "signed_at", "strokes")):
            if order_id not in last or signed_at > last[order_id][0]:
                last[order_id] = (signed_at, strokes)
    found = []
    for order_id, (_signed_at, strokes) in last.items():
        order = by_id[order_id]
        policy = policies(order.area_id)
        ms, count = signature_timing(strokes)
        if ms < policy.min_signature_ms or count < policy.min_signature_strokes:
            found.append(Found(order_id, order.round, SignalKind.FAST_SIGNATURE, {
                "ms": ms, "strokes": count, "limit_ms": policy.min_signature_ms,
                "limit_strokes": policy.min_signature_strokes}))
    return found


#: One band's candidates, counted exactly; the four bands' answers are unioned.
_BAND_SQL = """
SELECT a.photo_id, a.order_id, a.kind, a.uploaded_at, b.order_id, b.kind, b.uploaded_at,
       bit_count(int8send(a.value # b.value)) AS bits
  FROM quality_photohash a
  JOIN quality_photohash b ON b.band{i} = a.band{i}
                          AND b.uploaded_at >= %(since)s AND b.uploaded_at <= %(until)s
                          AND b.order_id <> a.order_id
 WHERE a.order_id = ANY(%(orders)s)
   AND bit_count(int8send(a.value # b.value)) <= %(bits)s
"""


def _photos(by_id: dict[int, Completed], policies: Policies) -> list[Found]:
    """photo_reused: the nearest photo of another order, per order (its first match).
    Photos whose fingerprint job has not run yet are hashed first, so a late job never
    hides a signal."""
    if not by_id:
        return []
    fingerprints.hash_pending()
    until = max(o.completed_at for o in by_id.values())
    since = min(o.completed_at for o in by_id.values()) - dt.timedelta(
        days=policies.widest_photo_window)
    widest_bits = max([policies.default.photo_max_distance,
                       *(p.photo_max_distance for p in policies.by_area.values())])
    rows: list[tuple[Any, ...]] = []
    if connection.vendor == "postgresql":
        sql = " UNION ".join(_BAND_SQL.format(i=i) for i in range(4))
        with connection.cursor() as cursor:
            for chunk in _chunks(list(by_id)):
                cursor.execute(sql, {"orders": list(chunk), "since": since, "until": until,
                                     "bits": widest_bits})
                rows.extend(cursor.fetchall())
    else:
        for hashed in PhotoHash.objects.filter(order_id__in=list(by_id), value__isnull=False):
            assert hashed.value is not None  # unreadable photos have none
            for m in phash.matches(hashed.value, exclude_order=hashed.order_id, since=since,
                                   until=until, max_bits=widest_bits):
                rows.append((hashed.photo_id, hashed.order_id, hashed.kind,
                             hashed.uploaded_at, m.order_id, m.kind, m.uploaded_at, m.bits))
    best: dict[int, tuple[Any, ...]] = {}
    for row in rows:
        _photo, order_id, _kind, _at, _other, _other_kind, other_at, bits = row
        order = by_id[order_id]
        policy = policies(order.area_id)
        window_start = order.completed_at - dt.timedelta(days=policy.photo_window_days)
        if bits > policy.photo_max_distance or other_at < window_start:
            continue
        if order_id not in best or (bits, other_at) < (best[order_id][7], best[order_id][6]):
            best[order_id] = row
    found = []
    for order_id, row in best.items():
        _photo, _o, kind, at, other, other_kind, other_at, bits = row
        found.append(Found(order_id, by_id[order_id].round, SignalKind.PHOTO_REUSED, {
            "kind": kind, "uploaded_at": _iso(at), "other_order": WorkOrder.number_for(other),
            "other_kind": other_kind, "other_uploaded_at": _iso(other_at), "bits": int(bits)}))
    return found



def survey_origins(by_id: dict[int, Completed], policies: Policies) -> list[Found]:
    """survey_from_tech: the completion's survey answered from the technician's side.

    * Through the customer's link (``sms``): from the device or the network the order's
      technician used for a step (any order of theirs) within the policy's hours of the
      answer. The device is the stronger match (its own cookie), then a step of this
      order, then the nearest in time.
    * Recorded by a call-centre agent (``callback``) or an API client (``api``): by the
      order's own technician (the recording user is theirs: the strongest evidence, no
      step needed), or from the technician's device (the phone's cookie: the answer was
      typed on the phone the technician used within the hours). The network is not
      compared for these: it is the call-centre's office or the integrator's server, not
      the customer's, and technicians share such networks (``handlers.request_origin``).
    """
    answers = []
    for chunk in _chunks(list(by_id)):
        answers += [a for a in RequestOrigin.objects.filter(order_id__in=chunk,
                                                             survey__isnull=False)
                    .annotate(channel=models.F("survey__channel"),
                              recorder=models.F("survey__answered_by"))
                    if a.round == by_id[a.order_id].round
                    and by_id[a.order_id].technician_id is not None]
    if not answers:
        return []
    window = policies.widest_survey_window
    steps: dict[int | None, list[RequestOrigin]] = {}
    technicians = sorted({t for a in answers if (t := by_id[a.order_id].technician_id)})
    networks = {a.network for a in answers if a.network and a.channel == SMS}
    devices = {a.device for a in answers if a.device}
    users: dict[int, int] = {}
    for chunk in _chunks(technicians):
        if any(a.channel != SMS for a in answers):
            users.update(Technician.objects.filter(pk__in=chunk).values_list("pk", "user_id"))
        if not networks and not devices:
            continue
        for step in (RequestOrigin.objects.filter(
                technician_id__in=chunk, survey__isnull=True,
                at__gte=min(a.at for a in answers) - window,
                at__lte=max(a.at for a in answers) + window)
                .filter(models.Q(network__in=networks) | models.Q(device__in=devices))
                .order_by("at", "pk")):
            steps.setdefault(step.technician_id, []).append(step)
    found = []
    for answer in answers:
        order = by_id[answer.order_id]
        policy = policies(order.area_id)
        common = {"channel": answer.channel, "answered_at": _iso(answer.at),
                  "completed_at": _iso(order.completed_at),
                  "minutes_after_completion": int((answer.at - order.completed_at)
                                                  .total_seconds() // 60)}
        recorded = answer.channel != SMS
        if recorded and answer.recorder is not None and order.technician_id is not None and (
                users.get(order.technician_id) == answer.recorder):
            found.append(Found(order.id, order.round, SignalKind.SURVEY_FROM_TECHNICIAN,
                               {"matched": "recorder", **common}))
            continue
        limit = dt.timedelta(hours=policy.survey_origin_window_hours)
        best: tuple[Any, ...] | None = None
        for step in steps.get(order.technician_id, []):
            if abs(step.at - answer.at) > limit:
                continue
            device = bool(answer.device) and step.device == answer.device
            if not device and (recorded or not (answer.network
                                                and step.network == answer.network)):
                continue
            rank = (not device, step.order_id != answer.order_id, abs(step.at - answer.at))
            if best is None or rank < best[0]:
                best = (rank, step, device)
        if best is None:
            continue
        _rank, step, device = best
        evidence = {
            "matched": "device" if device else "network", "step": step.action,
            "step_at": _iso(step.at), **common,
            "same_browser": bool(answer.browser) and step.browser == answer.browser,
            "window_hours": policy.survey_origin_window_hours}
        if step.order_id != answer.order_id:
            evidence["other_order"] = WorkOrder.number_for(step.order_id)
        found.append(Found(order.id, order.round, SignalKind.SURVEY_FROM_TECHNICIAN, evidence))
    return found
