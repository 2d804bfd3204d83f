"""The signals' evidence in words (R52): an inspector reads what was found, with the
numbers and the policy's limit, never raw data or internal ids."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.models import AnswerChannel
from workorders.events import OrderAction
from workorders.models import Kind, Photo


def _when(text: Any) -> str:
    if not text:
        return "-"
    moment = dt.datetime.fromisoformat(str(text))
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _photo_kind(value: Any) -> str:
    try:
        return str(Photo.Kind(value).label)
    except ValueError:
        return str(value)


def _distance(metres: float) -> str:
    if metres >= 1000:
        return _("%(km).1f km") % {"km": metres / 1000}
    return _("%(m)d m") % {"m": round(metres)}


def _step(value: Any) -> str:
    try:
        return str(OrderAction(str(value)).label)
    except ValueError:
        return str(value)


def _gap(minutes: int) -> str:
    if minutes >= 120:
        return _("%(hours)d h %(minutes)d min") % {"hours": minutes // 60,
                                                   "minutes": minutes % 60}
    return _("%(minutes)d min") % {"minutes": max(minutes, 0)}


def _channel(value: Any) -> str:
    try:
        return str(AnswerChannel(str(value)).label)
    except ValueError:
        return str(value)


def _survey_from_technician(e: dict[str, Any]) -> str:
    values = {"step": _step(e.get("step")), "step_at": _when(e.get("step_at")),
              "answered_at": _when(e.get("answered_at")),
              "gap": _gap(int(e.get("minutes_after_completion", 0))),
              "other": e.get("other_order", ""), "hours": int(e.get("window_hours", 0)),
              "channel": _channel(e.get("channel"))}
    recorded = e.get("channel") not in (None, "", AnswerChannel.SMS)
    if e.get("matched") == "recorder":
        return _("Survey answer recorded (%(channel)s) by the order's own technician: "
                 "recorded %(answered_at)s, %(gap)s after completion.") % values
    if e.get("matched") == "device" and recorded:
        where = (_("Survey answer recorded (%(channel)s) from the device the technician "
                   "used for “%(step)s” on order %(other)s at %(step_at)s")
                 if values["other"] else
                 _("Survey answer recorded (%(channel)s) from the device the technician "
                   "used for “%(step)s” at %(step_at)s")) % values
    elif e.get("matched") == "device":
        where = (_("Survey answered from the device the technician used for “%(step)s” "
                   "on order %(other)s at %(step_at)s") if values["other"] else
                 _("Survey answered from the device the technician used for “%(step)s” at "
                   "%(step_at)s")) % values
    else:
        where = (_("Survey answered from the network the technician used for “%(step)s” "
                   "on order %(other)s at %(step_at)s") if values["other"] else
                 _("Survey answered from the network the technician used for “%(step)s” at "
                   "%(step_at)s")) % values
    text = _("%(where)s: answered %(answered_at)s, %(gap)s after completion") % {
        "where": where, **values}
    if e.get("same_browser"):
        text += _(", with the same browser")
    return text + _("; the policy looks %(hours)d hours around the answer.") % values


def describe(kind: str, evidence: dict[str, Any]) -> str:
    e = evidence
    if kind == "far_check_in":
        return _("Checked in %(distance)s from the address at %(at)s; the policy allows "
                 "%(limit)s.") % {"distance": _distance(float(e.get("metres", 0))),
                                  "at": _when(e.get("checked_in_at")),
                                  "limit": _distance(float(e.get("limit_m", 0)))}
    if kind == "photo_reused":
        same = (_("the same picture") if int(e.get("bits", 0)) == 0 else
                _("nearly the same picture (%(bits)d of 64 fingerprint bits differ)")
                % {"bits": int(e.get("bits", 0))})
        return _("The %(kind)s photo uploaded %(at)s is %(same)s as the %(other_kind)s photo "
                 "of order %(other)s uploaded %(other_at)s.") % {
            "kind": _photo_kind(e.get("kind")), "at": _when(e.get("uploaded_at")),
            "same": same, "other_kind": _photo_kind(e.get("other_kind")),
            "other": e.get("other_order", "-"), "other_at": _when(e.get("other_uploaded_at"))}
    if kind == "quick_completion":
        try:
            kind_label = str(Kind(str(e.get("order_kind"))).label)
        except ValueError:
            kind_label = str(e.get("order_kind", ""))
        return _("Completed %(minutes)d minutes after checking in (checked in %(check_in)s, "
                 "completed %(completed)s); the policy expects at least %(limit)d minutes "
                 "for %(kind)s.") % {
            "minutes": int(e.get("minutes", 0)), "check_in": _when(e.get("checked_in_at")),
            "completed": _when(e.get("completed_at")), "limit": int(e.get("limit_minutes", 0)),
            "kind": kind_label}
    if kind == "fast_signature":
        return _("The customer's signature was drawn in %(seconds).1f s with %(strokes)d "
                 "stroke(s); the policy expects at least %(limit_s).1f s and %(limit_strokes)d "
                 "stroke(s).") % {
            "seconds": int(e.get("ms", 0)) / 1000, "strokes": int(e.get("strokes", 0)),
            "limit_s": int(e.get("limit_ms", 0)) / 1000,
            "limit_strokes": int(e.get("limit_strokes", 0))}
    if kind == "survey_from_tech":
        return _survey_from_technician(e)
    return _("Suspicious evidence.")
