"""The customer answers the callback survey on a phone (R29), in real Chromium: the SMS
link opens the page without a login, the answer is stored, and the link then only thanks
(single use). Each step is photographed (test-artifacts/browser/)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from notifications.models import Notification
from surveys.models import AnswerChannel, Survey, SurveyStatus
from workorders.models import State, WorkOrder

pytestmark = pytest.mark.django_db(transaction=True)


def survey_path(order: WorkOrder) -> str:
    body = Notification.objects.filter(order=order, kind="survey").order_by("-id")[0].body
    return urlsplit(re.search(r"https?://\S+", body).group(0)).path


def test_the_customer_answers_the_survey_on_a_phone(phone, shots, make_order, alice):
    # R29: satisfied / not, three 1-5 ratings, a comment; R31 on "not satisfied"
    order = make_order(State.SURVEY_PENDING, technician=alice)
    page = phone
    path = survey_path(order)
    page.goto(path)
    shots("survey")
    assert order.number in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # fits the phone

    page.check("input[name=satisfied][value=no]")
    page.check("input[name=punctuality][value='4']")
    page.check("input[name=conduct][value='5']")
    page.check("input[name=result][value='2']")
    page.fill("#id_comment", "网速还是不到 300M")
    shots("filled")
    with page.expect_navigation():
        page.click("button[data-submit]")
    shots("thanks")
    assert page.locator("[data-result=unsatisfied]").count() == 1
    assert page.locator("form[data-survey]").count() == 0

    survey = Survey.objects.get(order=order)
    assert survey.status == SurveyStatus.ANSWERED and survey.channel == AnswerChannel.SMS
    assert (survey.satisfied, survey.punctuality, survey.conduct, survey.result) == (
        False, 4, 5, 2)
    assert survey.comment == "网速还是不到 300M"
    assert WorkOrder.objects.get(pk=order.pk).state == State.REWORK

    page.goto(path)  # opened again: thanks, no form
    assert page.locator("form[data-survey]").count() == 0
    page.goto(path[:-3] + "xx/")  # a damaged link: a kind refusal, not an error page
    shots("damaged-link")
    assert page.locator("[data-error=invalid]").count() == 1
