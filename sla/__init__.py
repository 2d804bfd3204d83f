"""The SLA engine (R34-R38). So far: business calendars and their arithmetic (R37).

``sla.calendars`` is the pure arithmetic on a frozen ``Schedule``; ``sla.selectors``
builds (and caches) a ``Schedule`` from a ``BusinessCalendar`` row; ``sla.services``
writes calendars. See ``docs/sla-calendars.md``.
"""
