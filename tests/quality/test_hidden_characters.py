"""Control and invisible characters on the inspection desk (issue 18 item 4; R52): the
order number picked by hand refuses them naming the character, the decision's notes lose
them, and a NUL in the list's search or filter is a 400.

Defect: the inspection forms were plain text fields that stored what was typed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from quality.models import Inspection, InspectionStatus

from .test_admin import PAGES, drawn  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db

RLO, ZWSP = "\u202e", "\u200b"


def test_an_order_number_with_a_hidden_character_is_refused(client, drawn, inspector):  # noqa: F811
    client.force_login(inspector)
    response = client.post(reverse("admin:quality_inspection_add"),
                           {"number": f"{drawn.order.number}{ZWSP}"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "U+200B ZERO WIDTH SPACE" in response.content.decode()
    assert Inspection.objects.count() == 1  # the drawn one only


def test_the_notes_of_a_decision_lose_them(client, drawn, inspector):  # noqa: F811
    client.force_login(inspector)
    response = client.post(PAGES["decide"](drawn), {
        "outcome": "pass", "method": "review",
        "notes": f"照片{RLO}清楚{ZWSP}\n签名正常\x00"})
    assert response.status_code == 302
    drawn.refresh_from_db()
    assert drawn.status == InspectionStatus.PASSED
    assert drawn.notes == "照片清楚\n签名正常"


@pytest.mark.parametrize("params", [{"q": "\x00"}, {"status__exact": "\x00"},
                                    {"reason__exact": "sample\x00"}])
def test_a_nul_in_the_lists_search_or_filter_is_a_400(client, inspector, params):
    client.force_login(inspector)
    response = client.get(PAGES["list"](None), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
