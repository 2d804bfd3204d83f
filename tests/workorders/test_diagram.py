from django.core.management import call_command

from workorders.diagram import document, transitions
from workorders.management.commands.fsm_diagram import TARGET
from workorders.models import State


def test_the_committed_state_diagram_matches_the_code():
    assert TARGET.read_text(encoding="utf-8") == document(), (
        "docs/state-machine.md is stale: run `python manage.py fsm_diagram`")


def test_the_check_mode_passes_on_a_fresh_diagram():
    call_command("fsm_diagram", "--check")


def test_every_state_is_reachable_in_the_diagram():
    targets = {t for _s, t, _n, _r in transitions()} | {State.ACCEPTED}
    assert targets == {s.value for s in State}
