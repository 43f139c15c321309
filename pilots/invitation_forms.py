"""Forms of the invitation pages: answering an invitation, and recording who took part."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Participation


class AnswerForm(forms.Form):
    """Yes or no to an invitation (the button pressed), and whether to share one's identity with the firm."""

    ANSWERS = [("accept", _("Yes, I will take part")), ("decline", _("No, thank you"))]

    answer = forms.ChoiceField(
        choices=ANSWERS, error_messages={"required": _("Choose yes or no with one of the buttons.")}
    )
    share_identity = forms.BooleanField(required=False)

    def __init__(self, *args, organisation=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisation is None:
            del self.fields["share_identity"]
        else:
            self.fields["share_identity"].label = _(
                "Share my name and contact details with %(organisation)s for this study"
            ) % {"organisation": organisation.name}
            self.fields["share_identity"].help_text = _(
                "Leave this unticked and they see only a code instead of your name. Applies only if you "
                "say yes."
            )

    @property
    def accept(self) -> bool:
        return self.cleaned_data["answer"] == "accept"


class ParticipationForm(forms.Form):
    """Staff record whether someone who accepted took part."""

    outcome = forms.ChoiceField(choices=Participation.Outcome.choices, label=_("Outcome"))
