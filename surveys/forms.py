"""The customer's survey form (R29) and the call-centre's callback form (R30)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from fieldops.text import FreeTextField

RATINGS = [(5, "5"), (4, "4"), (3, "3"), (2, "2"), (1, "1")]
SATISFIED = [("yes", _("Satisfied")), ("no", _("Not satisfied"))]


class SurveyForm(forms.Form):
    """R29: satisfied or not, three 1-5 ratings and a comment. The customer must say
    whether they are satisfied; the ratings are asked for but a callback may leave them
    out (``ratings_required``)."""

    satisfied = forms.ChoiceField(label=_("Are you satisfied with the service?"),
                                  choices=SATISFIED, widget=forms.RadioSelect)
    punctuality = forms.TypedChoiceField(label=_("Punctuality"), coerce=int, choices=RATINGS,
                                         widget=forms.RadioSelect, empty_value=None)
    conduct = forms.TypedChoiceField(label=_("Conduct"), coerce=int, choices=RATINGS,
                                     widget=forms.RadioSelect, empty_value=None)
    result = forms.TypedChoiceField(label=_("Result of the work"), coerce=int,
                                    choices=RATINGS, widget=forms.RadioSelect,
                                    empty_value=None)
    comment = FreeTextField(label=_("Comment"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, ratings_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("punctuality", "conduct", "result"):
            self.fields[name].required = ratings_required

    def answer(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"satisfied": data["satisfied"] == "yes",
                "punctuality": data.get("punctuality"), "conduct": data.get("conduct"),
                "result": data.get("result"), "comment": data.get("comment", "")}


class CallbackForm(SurveyForm):
    """R30: what the customer said on the callback; the agent records it the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, ratings_required=False, **kwargs)
        self.fields["satisfied"].label = _("Is the customer satisfied?")
