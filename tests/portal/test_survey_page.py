"""The customer's survey page behind the signed SMS link (``/s/<token>/``, no login, R29):
the customer answers once; expired, reused, tampered and other-order tokens are refused
with a friendly page, never an error."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import translation

from appointments import links as appointment_links
from notifications.models import Notification
from surveys import links
from surveys import services as survey_services
from surveys.models import AnswerChannel, Survey, SurveyStatus
from workorders.events import OrderAction
from workorders.models import State, WorkOrder, WorkOrderEvent

ANSWER = {"satisfied": "yes", "punctuality": "5", "conduct": "4", "result": "5",
          "comment": "师傅很专业"}


def survey_path(order: WorkOrder) -> str:
    """The path of the newest survey link sent to the customer by SMS."""
    body = Notification.objects.filter(order=order, kind="survey").order_by("-id")[0].body
    return urlsplit(re.search(r"https?://\S+", body).group(0)).path


@pytest.fixture
def surveyed(make_order, alice) -> WorkOrder:
    return make_order(State.SURVEY_PENDING, technician=alice)


def test_the_link_shows_the_questions_without_a_login(surveyed, client: Client):
    # R29
    with translation.override("en"):
        response = client.get(survey_path(surveyed), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert surveyed.number in page and "Alice Wang" in page
    assert surveyed.contact_phone not in page  # R40
    assert 'name="punctuality"' in page and 'name="conduct"' in page
    assert 'name="result"' in page and 'name="comment"' in page
    assert response["Cache-Control"].startswith("max-age=0")
    assert Survey.objects.get(order=surveyed).opened_at is not None


def test_the_customer_answers_once_and_the_answer_is_stored(surveyed, client: Client):
    # R29: stored on the order's survey and in the event log (R42)
    path = survey_path(surveyed)
    response = client.post(path, ANSWER)
    assert response.status_code == 302
    survey = Survey.objects.get(order=surveyed)
    assert survey.status == SurveyStatus.ANSWERED and survey.channel == AnswerChannel.SMS
    assert (survey.satisfied, survey.punctuality, survey.conduct, survey.result) == (
        True, 5, 4, 5)
    assert survey.comment == "师傅很专业" and survey.answered_by is None
    assert WorkOrder.objects.get(pk=surveyed.pk).state == State.CLOSED
    assert WorkOrderEvent.objects.filter(
        order=surveyed, action=OrderAction.CLOSE_SATISFIED).count() == 1
    thanks = client.get(path)
    assert thanks.status_code == 200 and 'data-result="satisfied"' in thanks.content.decode()
    again = client.post(path, {**ANSWER, "satisfied": "no"})  # reused
    assert again.status_code == 409 and 'data-error="used"' in again.content.decode()
    assert WorkOrder.objects.get(pk=surveyed.pk).state == State.CLOSED


def test_an_incomplete_answer_is_shown_again_with_the_errors(surveyed, client: Client):
    # R29: the three ratings are asked for
    response = client.post(survey_path(surveyed), {"satisfied": "no"})
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert Survey.objects.get(order=surveyed).status == SurveyStatus.PENDING


def test_an_unsatisfied_answer_starts_rework(surveyed, client: Client):
    # R31
    client.post(survey_path(surveyed), {**ANSWER, "satisfied": "no", "result": "1"})
    order = WorkOrder.objects.get(pk=surveyed.pk)
    assert order.state == State.REWORK and order.rework_round == 1
    page = client.get(survey_path(surveyed)).content.decode()
    assert 'data-result="unsatisfied"' in page


def test_an_expired_link_is_refused_kindly(surveyed, client: Client, settings):
    # R29: expiring
    path = survey_path(surveyed)
    expires = Survey.objects.get(order=surveyed).expires_at
    with time_machine.travel(expires + dt.timedelta(seconds=1), tick=False):
        response = client.get(path)
        posted = client.post(path, ANSWER)
    assert response.status_code == 410 and 'data-error="expired"' in response.content.decode()
    assert posted.status_code == 410
    assert Survey.objects.get(order=surveyed).status == SurveyStatus.PENDING


def test_the_link_lives_as_long_as_the_setting_says(surveyed):
    survey = Survey.objects.get(order=surveyed)
    assert survey.expires_at == survey.sms_not_before + dt.timedelta(hours=72)


@pytest.mark.parametrize("change", ["last", "first", "nonce", "truncated"])
def test_a_tampered_link_is_refused_kindly(surveyed, client: Client, change):
    # R29: signed
    token = survey_path(surveyed).strip("/").split("/")[-1]
    if change == "last":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    elif change == "first":
        token = ("9" if token[0] != "9" else "8") + token[1:]
    elif change == "nonce":
        value, _sep, rest = token.partition(":")
        token = f"{value[:-1]}0:{rest}" if value[-1] != "0" else f"{value[:-1]}1:{rest}"
    else:
        token = token[:10]
    response = client.post(f"/s/{token}/", ANSWER)
    assert response.status_code == 404
    assert 'data-error="invalid"' in response.content.decode()
    assert Survey.objects.get(order=surveyed).status == SurveyStatus.PENDING


def test_another_orders_token_answers_only_its_own_order(make_order, alice, client: Client):
    # R29: a token names one survey of one order; swapping ids breaks the signature
    first = make_order(State.SURVEY_PENDING, technician=alice)
    second = make_order(State.SURVEY_PENDING, technician=alice)
    token = survey_path(first).strip("/").split("/")[-1]
    other = Survey.objects.get(order=second)
    value, _sep, signature = token.partition(":")
    forged = f"{other.pk}.{value.split('.', 1)[1]}:{signature}"
    assert client.post(f"/s/{forged}/", ANSWER).status_code == 404
    # A correctly signed token naming the other survey with this survey's nonce: no row.
    signed = signing.TimestampSigner(salt=links.SALT).sign(
        f"{other.pk}.{value.split('.', 1)[1]}")
    assert client.post(f"/s/{signed}/", ANSWER).status_code == 404
    assert Survey.objects.get(order=second).status == SurveyStatus.PENDING
    assert Survey.objects.get(order=first).status == SurveyStatus.PENDING


def test_an_appointment_link_token_is_not_a_survey_token(make_order, alice, client: Client):
    # Signed for another purpose (another salt): refused.
    order = make_order(State.SURVEY_PENDING, technician=alice)
    survey = Survey.objects.get(order=order)
    other_salt = signing.TimestampSigner(
        salt=appointment_links.SALT).sign(f"{survey.pk}.{survey.nonce}")
    assert client.get(f"/s/{other_salt}/").status_code == 404


def test_a_superseded_survey_link_is_refused(make_order, alice, agent, client: Client):
    # R32: after rework the customer gets a new link; the old one no longer answers
    order = make_order(State.SURVEY_PENDING, technician=alice)
    old_path = survey_path(order)
    client.post(old_path, {**ANSWER, "satisfied": "no"})
    order = WorkOrder.objects.get(pk=order.pk)

    survey_services.work_order_resolve_rework(order=order, by=alice.user, note="换了光猫")
    new_path = survey_path(order)
    assert new_path != old_path
    assert client.post(old_path, ANSWER).status_code == 409  # answered already
    assert client.post(new_path, ANSWER).status_code == 302
    assert WorkOrder.objects.get(pk=order.pk).state == State.CLOSED


def test_the_comment_loses_hidden_characters(surveyed, client: Client):
    # Defect: a survey comment kept bidi overrides and zero-width characters.
    response = client.post(survey_path(surveyed), {**ANSWER, "comment": "师傅\u202e很专业\u200b"})
    assert response.status_code == 302
    assert Survey.objects.get(order=surveyed).comment == "师傅很专业"
