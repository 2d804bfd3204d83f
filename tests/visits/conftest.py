"""The visits app's own tests see only its own checklist steps: the steps other phases
register (equipment, materials, charges: ``workorders.visit_parts``) are set aside and
restored afterwards (``visits_alone`` in tests/conftest.py). How they join the checklist
is tested in ``test_with_inventory.py``, which keeps them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _visits_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    if not request.node.module.__name__.endswith("test_with_inventory"):
        request.getfixturevalue("visits_alone")
    yield
