"""Forms of brokered introductions. They parse; the services in ``services.introductions`` decide."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Introduction, IntroductionOutcome


class RequestForm(forms.Form):
    """Posted from a match: which need and offer, and why (``as`` names the acting firm)."""

    need = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    offer = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    message = forms.CharField(
        label=_("Why this introduction?"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For the cluster staff; the other firm does not see it."),
    )
    nda = forms.BooleanField(label=_("We want a mutual non-disclosure agreement"), required=False)


class StatusFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Every status")), *Introduction.Status.choices],
    )


class BrokerForm(forms.Form):
    nda_required = forms.BooleanField(
        label=_("Both firms accept a mutual non-disclosure agreement"), required=False
    )
    nda_text = forms.CharField(
        label=_("Text of the non-disclosure agreement"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 14}),
        help_text=_("Left empty while an agreement is required, the cluster's standard mutual NDA applies."),
    )
    note = forms.CharField(
        label=_("Note to both firms"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Why the cluster thinks they should meet. Both firms read it."),
    )


class ReasonForm(forms.Form):
    def __init__(self, *args, required: bool = False, help_text: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"] = forms.CharField(
            label=_("Reason"),
            required=required,
            max_length=400,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text=help_text,
        )


class AcceptForm(forms.Form):
    """The fingerprint of the NDA text the page showed, so that acceptance is of that exact text."""

    nda_sha256 = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class OutcomeForm(forms.Form):
    kind = forms.ChoiceField(label=_("What came of it?"), choices=IntroductionOutcome.Kind.choices)
    occurred_on = forms.DateField(
        label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Visible to both firms and the cluster staff."),
    )
