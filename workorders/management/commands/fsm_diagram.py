from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from workorders.diagram import document

TARGET = Path(settings.BASE_DIR) / "docs" / "state-machine.md"


class Command(BaseCommand):
    help = "Write docs/state-machine.md (Mermaid) from the work-order state machine."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true",
                            help="Exit 1 if the file is stale instead of writing it.")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        text = document()
        if check:
            if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
                self.stderr.write(f"{TARGET} is stale: run python manage.py fsm_diagram")
                raise SystemExit(1)
            return
        TARGET.parent.mkdir(exist_ok=True)
        TARGET.write_text(text, encoding="utf-8")
        self.stdout.write(f"wrote {TARGET}")
