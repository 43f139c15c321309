"""Forms of the challenge, the phased call and the market consultation. They only parse what was typed —
dates in the authority's own time zone — and the services in ``procurement.services`` decide."""

import zoneinfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .models import TIME_ZONES, AwardCriterion, ConsultationEvent, Phase, Procurement
from .services.calls import CHALLENGE_FIELDS, CRITERION_FIELDS, PHASE_FIELDS, TERMS_FIELDS

DATETIME_INPUT = "%Y-%m-%dT%H:%M"
INPUT_FORMATS = [DATETIME_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=DATETIME_INPUT)


class ZonedDateTimeField(forms.DateTimeField):
    """A date and time typed in ``tz`` (the authority's zone, not the server's nor the browser's), stored as
    an aware datetime and shown back in ``tz``. Times that do not exist or occur twice there (the hour the
    clocks change) are refused with a reason."""

    widget = LocalDateTimeInput

    def __init__(self, *, tz: zoneinfo.ZoneInfo | None = None, **kwargs):
        kwargs.setdefault("input_formats", INPUT_FORMATS)
        super().__init__(**kwargs)
        self.tz = tz

    def to_python(self, value):
        with timezone.override(self.tz or timezone.get_default_timezone()):
            return super().to_python(value)

    def prepare_value(self, value):
        with timezone.override(self.tz or timezone.get_default_timezone()):
            return super().prepare_value(value)


def _zone_fields(form, procurement: Procurement, names) -> None:
    """Make ``names`` zoned fields of ``procurement``'s time zone, saying so in their help text."""
    for name in names:
        old = form.fields[name]
        form.fields[name] = ZonedDateTimeField(
            tz=procurement.tz,
            label=old.label,
            required=old.required,
            help_text=_("In the authority's time zone, %(zone)s.") % {"zone": procurement.time_zone},
        )


class ServiceModelForm(forms.ModelForm):
    """A model form that parses only: the service validates and saves."""

    def _post_clean(self):
        pass

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}


TEXTAREA = forms.Textarea(attrs={"rows": 4})


class ProcurementForm(ServiceModelForm):
    """The challenge a public authority turns into a procurement."""

    time_zone = forms.ChoiceField(
        label=_("The authority's time zone"),
        choices=[(zone, zone) for zone in TIME_ZONES],
        help_text=_("Key dates are typed and shown in this zone."),
    )

    class Meta:
        model = Procurement
        fields = ["buyer", *CHALLENGE_FIELDS, "intermediaries"]
        widgets = {
            "challenge": TEXTAREA,
            "needs": TEXTAREA,
            "expected_outcome": TEXTAREA,
            "specifications": TEXTAREA,
            "intermediaries": forms.CheckboxSelectMultiple,
        }
        help_texts = {
            "challenge": _("The societal problem to solve, e.g. helping older people live at home longer."),
            "budget": _("The whole envelope for every phase; the default phases share it 10 / 30 / 60 %."),
            "currency": _("Three-letter code, such as EUR."),
            "intermediaries": _(
                "Cluster organisations that broker consortia and keep contacts under the ground rules."
            ),
        }

    def __init__(self, *args, buyers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if buyers is None:
            self.fields.pop("buyer", None)
        else:
            self.fields["buyer"].queryset = buyers
            self.fields["buyer"].empty_label = None
        self.fields["intermediaries"].queryset = Organisation.objects.filter(
            kind=Organisation.Kind.CLUSTER
        ).order_by("name")
        self.fields["time_zone"].initial = self.instance.time_zone if self.instance.pk else "Europe/Brussels"


class ProcurementEditForm(ProcurementForm):
    """The challenge and the risk-benefit sharing terms of a call not yet published."""

    class Meta(ProcurementForm.Meta):
        fields = [*CHALLENGE_FIELDS, *TERMS_FIELDS, "intermediaries"]
        widgets = {
            **ProcurementForm.Meta.widgets,
            **{name: forms.Textarea(attrs={"rows": 3}) for name in TERMS_FIELDS},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, buyers=None, **kwargs)


class PhaseForm(ServiceModelForm):
    class Meta:
        model = Phase
        fields = list(PHASE_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "deliverables": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "pass_mark": _("The weighted total (out of 100) a bid needs to be ranked."),
            "standstill_days": _("Days between the award decision and the contracts, for challenges."),
        }

    def __init__(self, *args, procurement: Procurement, **kwargs):
        super().__init__(*args, **kwargs)
        _zone_fields(self, procurement, ["question_deadline", "bid_deadline"])


class NextPhaseForm(forms.Form):
    """The deadlines of a planned phase that opens."""

    question_deadline = forms.DateTimeField(label=_("Deadline for questions"))
    bid_deadline = forms.DateTimeField(label=_("Deadline for bids"))

    def __init__(self, *args, procurement: Procurement, **kwargs):
        super().__init__(*args, **kwargs)
        _zone_fields(self, procurement, ["question_deadline", "bid_deadline"])


class CriterionForm(ServiceModelForm):
    class Meta:
        model = AwardCriterion
        fields = [name for name in CRITERION_FIELDS if name != "position"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "weight": _("Share of the total, in per cent; a phase's weights add up to 100."),
            "threshold": _("A bid scoring less on this criterion is not ranked."),
        }


class ConsultationOpenForm(forms.Form):
    opens_at = forms.DateTimeField(
        label=_("Consultation opens"), required=False, help_text=_("Leave empty to open it now.")
    )
    closes_at = forms.DateTimeField(label=_("Consultation closes"))

    def __init__(self, *args, procurement: Procurement, **kwargs):
        super().__init__(*args, **kwargs)
        _zone_fields(self, procurement, ["opens_at", "closes_at"])
        self.fields["opens_at"].help_text = _("Leave empty to open it now. In %(zone)s time.") % {
            "zone": procurement.time_zone
        }


class EventForm(ServiceModelForm):
    online_url = forms.URLField(label=_("online link"), required=False, assume_scheme="https")

    class Meta:
        model = ConsultationEvent
        fields = ["title", "starts_at", "ends_at", "place", "online_url", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, procurement: Procurement, **kwargs):
        super().__init__(*args, **kwargs)
        _zone_fields(self, procurement, ["starts_at", "ends_at"])


class AttendanceForm(forms.Form):
    organisations = forms.ModelMultipleChoiceField(
        label=_("Organisations that took part"),
        queryset=Organisation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisations"].queryset = choices


class InputForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    text = forms.CharField(label=_("Your input"), widget=forms.Textarea(attrs={"rows": 6}))
    document = forms.FileField(
        label=_("Attachment (optional)"),
        required=False,
        help_text=_("A PDF, ZIP, PNG or JPEG file."),
    )


class SummaryForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary report"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("What the market said, and what the call specifications take from it."),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the procurement cancelled?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Registered firms and the public read this."),
    )


class FilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *Procurement.Status.choices]
    )
