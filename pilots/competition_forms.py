"""Forms of idea competitions and joint-survey partners. They only parse: the rules live in
``pilots.services.competitions``."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .models import Competition, Criterion, Idea
from .services.competitions import FIRM_KINDS, eligible_jurors


class CompetitionForm(forms.ModelForm):
    submissions_close_at = forms.DateTimeField(
        label=_("Ideas accepted until"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )

    class Meta:
        model = Competition
        fields = [
            "challenge",
            "submissions_close_at",
            "winners_count",
            "prize_programme",
            "prize_description",
        ]
        widgets = {"challenge": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "prize_description": _("What winners get when no voucher programme is chosen."),
        }

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        from vouchers.models import Programme

        self.fields["prize_programme"].queryset = Programme.objects.filter(
            operator_id=campaign.lab_id, status__in=[Programme.Status.DRAFT, Programme.Status.OPEN]
        ).order_by("title")


class CriterionForm(forms.ModelForm):
    class Meta:
        model = Criterion
        fields = ["name", "description", "weight", "max_score"]

    def clean_weight(self):
        weight = self.cleaned_data["weight"]
        return weight if weight is not None else Decimal("1")


class JuryChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        name = user.get_full_name()
        return f"{name} ({user.email})" if name else user.email


class JuryForm(forms.Form):
    jurors = JuryChoiceField(
        label=_("Jurors"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The living lab's staff and members of the firms the campaign is run for."),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurors"].queryset = eligible_jurors(campaign)


class IdeaForm(forms.ModelForm):
    class Meta:
        model = Idea
        fields = ["title", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 6})}


class ScoreForm(forms.Form):
    """One juror's scores of one idea: a score and a justification per criterion."""

    def __init__(self, *args, criteria, scores=None, **kwargs):
        super().__init__(*args, **kwargs)
        scores = scores or {}
        self.criteria = list(criteria)
        for criterion in self.criteria:
            given = scores.get(criterion.pk)
            self.fields[f"score_{criterion.pk}"] = forms.IntegerField(
                label=_("Score for “%(criterion)s” (0 to %(max)s)")
                % {"criterion": criterion.name, "max": criterion.max_score},
                required=False,
                initial=given.score if given else None,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            self.fields[f"comment_{criterion.pk}"] = forms.CharField(
                label=_("Why this score on “%(criterion)s”") % {"criterion": criterion.name},
                required=False,
                max_length=500,
                initial=given.comment if given else "",
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def rows(self):
        """(criterion, score field, comment field) for the template."""
        return [(c, self[f"score_{c.pk}"], self[f"comment_{c.pk}"]) for c in self.criteria]

    def entered(self):
        """(criterion, score, comment) for each criterion the juror filled in."""
        return [
            (c, self.cleaned_data[f"score_{c.pk}"], self.cleaned_data[f"comment_{c.pk}"])
            for c in self.criteria
            if self.cleaned_data.get(f"score_{c.pk}") is not None
        ]


class PartnerForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("Firm"),
        queryset=Organisation.objects.none(),
        help_text=_("The firm sees the results of its own questions and of the shared ones."),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (
            Organisation.objects.filter(kind__in=FIRM_KINDS)
            .exclude(pk=campaign.requested_by_id)
            .exclude(pk__in=campaign.partners.values("pk"))
            .order_by("name")
        )
