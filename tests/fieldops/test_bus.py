"""``fieldops.bus``: typed events reach their handlers inside the publisher's transaction."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.db import transaction

from fieldops import bus


@dataclasses.dataclass(frozen=True)
class Rang:
    what: str


@dataclasses.dataclass(frozen=True)
class RangTwice(Rang):
    pass


@pytest.fixture
def heard(listen) -> list[Any]:
    return listen(Rang)


@pytest.mark.django_db
def test_a_handler_hears_its_type_and_its_subclasses(heard):
    with transaction.atomic():
        bus.publish(Rang("bell"))
        bus.publish(RangTwice("bell"))
    assert [type(e) for e in heard] == [Rang, RangTwice]


@pytest.mark.django_db
def test_subscribing_twice_delivers_once(heard):
    bus.subscribe(Rang, bus.handlers_for(Rang)[-1])
    with transaction.atomic():
        bus.publish(Rang("bell"))
    assert len(heard) == 1


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_a_transaction_is_refused(heard):
    # A handler's writes must commit or roll back with the change that caused them.
    with pytest.raises(bus.NotInTransaction, match=r"outside transaction\.atomic"):
        bus.publish(Rang("bell"))
    assert heard == []
