"""Forms of the awards part: the award decision, its withdrawal during the standstill period."""

from django import forms
from django.utils.translation import gettext_lazy as _


class DecisionForm(forms.Form):
    reasons = forms.CharField(
        label=_("Reasons for the decision"),
        help_text=_("Every bidder receives these reasons with its own scores, total and rank."),
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class RevokeForm(forms.Form):
    reasons = forms.CharField(
        label=_("Why the decision is withdrawn"),
        help_text=_(
            "For example, a complaint found that a score must be corrected. The phase returns to evaluation."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
