"""Durations and promises in words, for every face (the desk's queue, the technician's
Today and order pages): "12 min", "2 h 10 min", "3 d 4 h", "overdue 35 min", never a raw
count of minutes (R14, R38)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

#: Further off than this, a promise reads better as the time of day it falls due.
FAR_OFF = dt.timedelta(hours=12)


def duration_in_words(minutes: int) -> str:
    """``12 min``, ``2 h``, ``2 h 10 min``, ``3 d 4 h`` for a whole number of minutes (≥ 0)."""
    days, rest = divmod(max(0, minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return (_("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": mins} if mins
                else _("%(hours)d h") % {"hours": hours})
    return ngettext("%(minutes)d min", "%(minutes)d min", mins) % {"minutes": mins}


def time_left_in_words(seconds: float) -> str:
    """``12 min``, ``2 h 10 min``, ``3 d 4 h``, ``overdue 35 min``: whole minutes (59.5
    minutes left is "59 min"; overdue by less than a minute is "overdue 1 min")."""
    overdue = seconds < 0
    minutes = max(1, int(-seconds // 60)) if overdue else int(seconds // 60)
    text = duration_in_words(minutes)
    return _("overdue %(time)s") % {"time": text} if overdue else text


def due_in_words(due: dt.datetime, now: dt.datetime) -> str:
    """A promise's time left: "16 h 58 min left" nearby; "by 09:00 tomorrow" or "by 12-09
    09:00" when it is far off (a count of hours means little then); "overdue 35 min"."""
    left = due - now
    if left.total_seconds() < 0:
        return time_left_in_words(left.total_seconds())
    if left < FAR_OFF:
        return _("%(time)s left") % {"time": time_left_in_words(left.total_seconds())}
    local_due, local_now = timezone.localtime(due), timezone.localtime(now)
    clock_time = date_format(local_due, "H:i")
    days = (local_due.date() - local_now.date()).days
    if days == 0:
        return _("by %(time)s today") % {"time": clock_time}
    if days == 1:
        return _("by %(time)s tomorrow") % {"time": clock_time}
    return _("by %(day)s %(time)s") % {"day": date_format(local_due, "m-d"),
                                       "time": clock_time}
