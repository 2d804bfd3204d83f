"""How long where-a-request-came-from is kept (R52, issue 17): ``RequestOrigin`` rows
(keyed hashes of a technician's step or a survey answer's network, device and browser) are
only there to be compared by the ``survey_from_tech`` signal; once no comparison can need a
row any more it is deleted, by beat (``tasks.purge_request_origins``).

Which comparisons can still need a row written at ``at`` (``W``: the widest
``survey_origin_window_hours`` of all policies; ``L``: the sampling lag, below):

* an answer is compared with the technician's steps within ``W`` of it, either at once
  when it arrives after its completion's day was sampled (``sampling.signal_late``), or by
  the day's job (``sampling.run_due``), which samples a local day at the latest
  ``sampling.DAYS_BACK`` days after it ended, i.e. before ``start of the day + L`` with
  ``L = DAYS_BACK + 1`` days (4 days). The completion comes before its answer, so the
  answer's row is last needed at ``at + L``.
* a step is compared with answers at most ``W`` after it; such an answer's completion came
  before the answer, so its day is sampled by ``at + W + L``.

A row is therefore kept for ``W + L`` after its ``at`` (24 h + 4 days = 5 days by default)
and deleted after that. The signals found keep their evidence in words (``Signal.evidence``:
which step, when, device or network) and never point at an origin row, so deleting rows
loses nothing an inspector reads. A window widened later looks back only as far as the
rows still kept (at least the window the purge used). A step replayed from the phone
carries the phone's time: its row may be written already past the horizon and is then
deleted by the next run, which is right, since no comparison can reach it any more.

The purge deletes in batches of ``BATCH`` rows (each its own short transaction, walking the
primary key so a batch never re-reads what the last one kept), so it never holds a long
lock on a table the technicians' steps write to; it is idempotent (a second run, or two at
once, deletes what is left and counts only what it deleted itself).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from fieldops import clock

from .models import RequestOrigin
from .sampling import DAYS_BACK
from .suspicion import Policies

BATCH = 5000

#: The sampling lag L: the day's job samples a local day before its start plus this.
SAMPLING_LAG = dt.timedelta(days=DAYS_BACK + 1)


def horizon(policies: Policies | None = None) -> dt.timedelta:
    """``W + L``: how long after its ``at`` a row can still be compared."""
    return (policies or Policies()).widest_survey_window + SAMPLING_LAG


def purge_request_origins(*, now: dt.datetime | None = None, batch: int = BATCH) -> int:
    """Delete the origin rows no comparison can need any more (older than ``horizon()``),
    in batches; returns how many this call deleted."""
    cutoff = (now or clock.now()) - horizon()
    deleted = 0
    last = 0
    while True:
        ids = list(RequestOrigin.objects.filter(at__lt=cutoff, pk__gt=last)
                   .order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        with transaction.atomic():
            count, _by_model = RequestOrigin.objects.filter(pk__in=ids,
                                                            at__lt=cutoff).delete()
        deleted += count
        last = ids[-1]
        if len(ids) < batch:
            return deleted
