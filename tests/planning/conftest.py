from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Reasons are asserted in English here (one test asks for Chinese)."""
    with translation.override("en"):
        yield
