"""The customer's survey page behind the signed SMS link (``/s/<token>/``, no login).
Thin: ``surveys.links`` checks the token, ``surveys.services.survey_answer`` writes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from surveys import links, services
from surveys.forms import SurveyForm
from surveys.models import AnswerChannel, SurveyStatus
from workorders.errors import DomainError


def _refused(request: HttpRequest, error: links.LinkError) -> HttpResponse:
    return render(request, "survey/invalid.html", {"error": error},
                  status=error.status)


@never_cache
@csrf_protect
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the questions (or the thanks, once answered). POST: the answer, once."""
    try:
        survey = links.resolve(token, for_use=request.method == "POST")
    except links.LinkError as error:
        return _refused(request, error)
    status = 200
    if request.method == "POST":
        form = SurveyForm(request.POST)
        if form.is_valid():
            try:
                services.survey_answer(survey=survey, by=None, channel=AnswerChannel.SMS,
                                       **form.answer())
            except (services.AlreadyAnswered, services.SurveyNotOpen):
                return _refused(request, links.already_used())  # answered a moment ago
            except DomainError as error:
                form.add_error(None, error.message)
                status = error.status
            else:
                return redirect("survey:answer", token=token)
        else:
            status = 400
    else:
        form = SurveyForm()
        services.survey_link_opened(survey=survey)
    order = survey.order
    technician = survey.technician
    context = {"survey": survey, "order": order, "form": form,
               "technician": technician.display_name if technician else "",
               "answered": survey.status == SurveyStatus.ANSWERED}
    return render(request, "survey/answer.html", context, status=status)
