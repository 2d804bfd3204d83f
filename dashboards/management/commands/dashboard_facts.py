"""``manage.py dashboard_facts``: rebuild the dashboards' per-order facts from history.

The facts are kept up to date by every order event; run this after restoring a backup,
after loading orders by other means, or to check nothing drifted (it is safe to run twice).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from dashboards.services import link_repeat_visits, order_facts_rebuild


class Command(BaseCommand):
    help = ("Recompute the supervisors' dashboard facts (one row per work order) from the "
            "orders' event logs, SLA timers and appointments.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", nargs="*", type=int, metavar="ID",
                            help="Only these order ids (default: every order).")
        parser.add_argument("--chunk", type=int, default=2000,
                            help="Orders per transaction (2000).")
        parser.add_argument("--rollups-only", action="store_true",
                            help="Keep the facts; recompute the repeat visits, the daily "
                                 "rollup and the duration histogram from them (SQL, fast).")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        if options["rollups_only"]:
            link_repeat_visits()
            self.stdout.write(self.style.SUCCESS(
                f"Dashboard rollups rebuilt in {time.monotonic() - started:.1f} s."))
            return

        def progress(done: int) -> None:
            self.stderr.write(f"  {done:>10,} orders  {time.monotonic() - started:7.1f} s")

        done = order_facts_rebuild(order_ids=options["orders"] or None,
                                   chunk=options["chunk"], progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"Dashboard facts rebuilt for {done:,} orders in "
            f"{time.monotonic() - started:.1f} s."))
