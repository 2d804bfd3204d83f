from typing import Any

from django.core.management.base import BaseCommand

from sla.replay import verify


class Command(BaseCommand):
    help = ("Replay every SLA timer's event log and check that each breach was recorded "
            "once, exactly when the time used exceeded the target (exit 1 if not).")

    def handle(self, *args: Any, **options: Any) -> None:
        findings = list(verify())
        for f in findings:
            self.stdout.write(f"timer {f.timer_id} (order {f.order_id}): {f.problem}")
        self.stdout.write(f"{len(findings)} problem(s) found")
        if findings:
            raise SystemExit(1)
