"""``manage.py demo_data``: demo data for a first run, or N orders for benchmarks.

The logic lives in ``demo``; this command parses options, reports and
prints the demo logins.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.office import build_demo
from demo.reference import DEFAULT_SEED, DEMO_PASSWORD, demo_logins
from demo.scale import build_scale
from workorders.models import WorkOrder


class Command(BaseCommand):
    help = (
        "Create demo data: areas, teams, technicians, office logins and ~66 work orders in "
        "every state, walked through the real services (default). With --orders N, add N "
        "orders in bulk for benchmarks instead (bypasses the services; COPY on PostgreSQL)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true",
                            help="Do nothing (but print the logins) if any work order exists.")
        parser.add_argument("--orders", type=int, default=None, metavar="N",
                            help="Scale mode: add N orders in bulk (e.g. 1000000).")
        parser.add_argument("--days", type=int, default=90, metavar="D",
                            help="Scale mode: spread creation over the last D days (90).")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                            help="Random seed; the same seed gives the same data.")
        parser.add_argument("--events", choices=("ends", "full"), default="ends",
                            help="Scale mode: event rows per order: the creation and the "
                                 "last transition (ends, default) or every step (full).")
        parser.add_argument("--technicians", type=int, default=None, metavar="T",
                            help="Scale mode: have at least T technicians (default: enough "
                                 "for ~6 orders per technician per day).")
        parser.add_argument("--open", type=int, default=0, metavar="K",
                            help="Scale mode: of the N orders, K open now, spread over the "
                                 "open states (a working day's queue); default 0.")
        parser.add_argument("--batch-size", type=int, default=10_000,
                            help="Scale mode: orders per batch/transaction (10000).")
        parser.add_argument("--method", choices=("auto", "copy", "bulk"), default="auto",
                            help="Scale mode: COPY (PostgreSQL) or bulk_create; auto picks "
                                 "COPY on PostgreSQL.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and WorkOrder.objects.exists():
            self.stdout.write("Work orders exist already; nothing created (--if-empty).")
        elif options["orders"] is not None:
            self._scale(options)
        else:
            self._demo(options)
        self._print_logins()

    def _demo(self, options: dict[str, Any]) -> None:
        if WorkOrder.objects.exists():
            self.stdout.write("Note: work orders exist already; adding the demo orders.")
        result = build_demo(seed=options["seed"])
        self.stdout.write(self.style.SUCCESS(
            f"Demo data: {result.orders} work orders, {result.customers} new customers, "
            f"{len(result.created_users)} new users, in {result.seconds:.1f} s."))

    def _scale(self, options: dict[str, Any]) -> None:
        if options["orders"] < 1 or options["days"] < 1:
            raise CommandError("--orders and --days must be at least 1.")

        def progress(done: int, total: int, seconds: float) -> None:
            rate = done / seconds if seconds else 0.0
            self.stderr.write(f"  {done:>10,} / {total:,} orders  {rate:>9,.0f} orders/s  "
                              f"{seconds:7.1f} s")

        try:
            result = build_scale(
                orders=options["orders"], days=options["days"], seed=options["seed"],
                events=options["events"], technicians=options["technicians"],
                batch_size=options["batch_size"], method=options["method"],
                open_now=options["open"], progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        rate = result.orders / result.seconds if result.seconds else 0.0
        mix = ", ".join(f"{state} {n}" for state, n in
                        sorted(result.states.items(), key=lambda kv: -kv[1]))
        self.stdout.write(self.style.SUCCESS(
            f"Scale data ({result.method}): {result.orders:,} work orders, "
            f"{result.customers:,} customers, {result.technicians:,} technicians added, "
            f"in {result.seconds:.1f} s ({rate:,.0f} orders/s)."))
        self.stdout.write(f"States: {mix}")

    def _print_logins(self) -> None:
        logins = demo_logins()
        headers = ("username", "password", "role", "what they do")
        widths = [max(len(headers[0]), *(len(x.username) for x in logins)),
                  max(len(headers[1]), len(DEMO_PASSWORD)),
                  max(len(headers[2]), *(len(x.role) for x in logins))]
        self.stdout.write("")
        self.stdout.write("Demo logins (users that existed before keep their own password):")

        def line(*cells: str) -> str:
            return "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)) \
                + "  " + cells[3]

        self.stdout.write(line(*headers))
        self.stdout.write(line(*("-" * w for w in widths), "-" * 12))
        for x in logins:
            self.stdout.write(line(x.username, DEMO_PASSWORD, x.role, x.does))
