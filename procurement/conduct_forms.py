"""Forms of the conduct part: messages, the interaction register, gift declarations and clarifications.
Dates and times are entered in the authority's time zone."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .models import GiftDeclaration, Interaction, Phase

LOCAL_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
LOCAL_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InAuthorityTimeZone:
    """Reads dates and times typed into the form in the procurement's own time zone."""

    def full_clean(self):
        with timezone.override(self.procurement.tz):
            super().full_clean()


class MessageForm(forms.Form):
    recipient = forms.ModelChoiceField(
        label=_("To"), queryset=Organisation.objects.none(), empty_label=_("Choose the organisation")
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args, recipients=None, **kwargs):
        super().__init__(*args, **kwargs)
        if recipients is None:
            del self.fields["recipient"]  # bidders and clusters write to the buying authority only
        else:
            self.fields["recipient"].queryset = recipients


class InteractionForm(InAuthorityTimeZone, forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of contact"),
        choices=[
            (value, label) for value, label in Interaction.Kind.choices if value != Interaction.Kind.MESSAGE
        ],
        widget=forms.RadioSelect,
    )
    occurred_at = forms.DateTimeField(label=_("When"), widget=LOCAL_DATETIME)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    summary = forms.CharField(
        label=_("Summary"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("What was discussed and agreed. The public summary of the register never shows it."),
    )
    participants = forms.CharField(
        label=_("People present"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Names and roles of everyone present. Only the authority's compliance officers and the "
            "intermediary cluster organisation see them; they are left out of exports and the public summary."
        ),
    )
    organisations = forms.ModelMultipleChoiceField(
        label=_("Other organisations involved"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The authority and your own organisation are added by themselves."),
    )
    on_behalf_of = forms.ModelChoiceField(
        label=_("Cluster organisation acting on behalf of firms"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("None"),
    )

    def __init__(self, *args, procurement, organisations, intermediaries, **kwargs):
        self.procurement = procurement
        super().__init__(*args, **kwargs)
        self.fields["organisations"].queryset = organisations
        self.fields["on_behalf_of"].queryset = intermediaries
        self.fields["occurred_at"].help_text = _("In the authority's time zone (%(zone)s).") % {
            "zone": procurement.time_zone
        }


class GiftForm(forms.Form):
    offered_by = forms.ModelChoiceField(
        label=_("Offered by"), queryset=Organisation.objects.none(), empty_label=_("Choose the organisation")
    )
    description = forms.CharField(
        label=_("What was offered"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A gift, a favour, a meal, an invitation…"),
    )
    value = forms.DecimalField(
        label=_("Estimated value (EUR)"), min_value=Decimal("0"), max_digits=10, decimal_places=2
    )
    offered_on = forms.DateField(label=_("Offered on"), widget=LOCAL_DATE)
    outcome = forms.ChoiceField(
        label=_("What happened"), choices=GiftDeclaration.Outcome.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offered_by"].queryset = organisations


class RegisterFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of contact"), choices=[("", _("All kinds")), *Interaction.Kind.choices], required=False
    )
    organisation = forms.ModelChoiceField(
        label=_("Organisation involved"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("All organisations"),
    )
    date_from = forms.DateField(label=_("From"), required=False, widget=LOCAL_DATE)
    date_to = forms.DateField(label=_("Until"), required=False, widget=LOCAL_DATE)

    def __init__(self, *args, organisations, zone: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations
        for name in ("date_from", "date_to"):
            self.fields[name].help_text = _("Day in %(zone)s, included.") % {"zone": zone}

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError(_("The first day comes after the last one."))
        return data


class AskForm(forms.Form):
    phase = forms.ModelChoiceField(label=_("Phase"), queryset=Phase.objects.none(), empty_label=None)
    question = forms.CharField(
        label=_("Your question"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Only the authority's procurers see who asked. The answer is published to every registered "
            "bidder, without your name or your organisation's."
        ),
    )

    def __init__(self, *args, phases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phase"].queryset = phases


class AnswerForm(forms.Form):
    public_question = forms.CharField(
        label=_("Question as published"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Rephrase anything that would tell bidders who asked. Left empty, the question is published "
            "as it was asked."
        ),
    )
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 5}))


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is not answered"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only the asking organisation sees it: a duplicate, outside the call's scope…"),
    )
